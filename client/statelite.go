package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/disklesstrap/disklesstrap/api"
)

// LiteFiles returns the statelite litefile rules that apply to image name
// (GET /api/v1/images/{name}/litefile).
func (c *Client) LiteFiles(ctx context.Context, name string) ([]api.LiteFile, error) {
	var out []api.LiteFile
	return out, c.do(ctx, http.MethodGet, "/api/v1/images/"+url.PathEscape(name)+"/litefile", nil, nil, &out)
}
