package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/disklesstrap/disklesstrap/api"
)

// Power runs a power action through the nodes' BMCs (POST /api/v1/power;
// action status: GET /api/v1/power). Per-node failures are in the results.
func (c *Client) Power(ctx context.Context, req api.PowerRequest) ([]api.PowerResult, error) {
	var out []api.PowerResult
	// A fleet run takes as long as its slowest batch of BMCs: no overall
	// client timeout (bootsrv bounds each node; ctx bounds the call).
	c = &Client{base: c.base, display: c.display, hc: c.longClient()}
	if req.Action == "status" {
		q := url.Values{"range": {req.Range}}
		if req.Parallel > 0 {
			q.Set("parallel", strconv.Itoa(req.Parallel))
		}
		if req.TimeoutMS > 0 {
			q.Set("timeout_ms", strconv.Itoa(req.TimeoutMS))
		}
		return out, c.do(ctx, http.MethodGet, "/api/v1/power", q, nil, &out)
	}
	return out, c.do(ctx, http.MethodPost, "/api/v1/power", nil, req, &out)
}
