package client

import (
	"context"
	"net/http"

	"github.com/disklesstrap/disklesstrap/api"
)

// Discovered lists the MACs that booted the discovery trap (GET
// /api/v1/discovery).
func (c *Client) Discovered(ctx context.Context) ([]api.Discovered, error) {
	var out []api.Discovered
	return out, c.do(ctx, http.MethodGet, "/api/v1/discovery", nil, nil, &out)
}

// DiscoverAssign names a discovered MAC (POST /api/v1/discovery/assign).
func (c *Client) DiscoverAssign(ctx context.Context, req api.DiscoverAssign) (api.DiscoverAssigned, error) {
	var out api.DiscoverAssigned
	return out, c.do(ctx, http.MethodPost, "/api/v1/discovery/assign", nil, req, &out)
}
