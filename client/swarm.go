package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/disklesstrap/disklesstrap/api"
)

// ImageSwarm returns an image's BitTorrent swarm: bootsrv's seeder and
// every node's state in it (GET /api/v1/images/{name}/swarm).
func (c *Client) ImageSwarm(ctx context.Context, name string) (api.ImageSwarm, error) {
	var out api.ImageSwarm
	return out, c.do(ctx, http.MethodGet, "/api/v1/images/"+url.PathEscape(name)+"/swarm", nil, nil, &out)
}

// ImageTorrent returns an image's .torrent file as the nodes get it
// (GET /images/{name}.torrent).
func (c *Client) ImageTorrent(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	return out, c.do(ctx, http.MethodGet, "/images/"+url.PathEscape(name)+".torrent", nil, nil, &out)
}
