package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// Nodes lists the nodes in rangeExpr ("" = all), naturally sorted (GET
// /api/v1/nodes). With blame each attribute's source is filled in.
func (c *Client) Nodes(ctx context.Context, rangeExpr string, blame bool) ([]api.Node, error) {
	q := rangeQuery(rangeExpr)
	if blame {
		q.Set("blame", "1")
	}
	var out []api.Node
	return out, c.do(ctx, http.MethodGet, "/api/v1/nodes", q, nil, &out)
}

// Node returns one node (GET /api/v1/nodes/{name}).
func (c *Client) Node(ctx context.Context, name string, blame bool) (api.Node, error) {
	q := url.Values{}
	if blame {
		q.Set("blame", "1")
	}
	var out api.Node
	return out, c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(name), q, nil, &out)
}

// AddNodes adds the node or node range edit.Name with edit.Fields to the
// inventory file (POST /api/v1/nodes) and returns the new nodes.
func (c *Client) AddNodes(ctx context.Context, edit api.NodeEdit) ([]api.Node, error) {
	var out []api.Node
	return out, c.do(ctx, http.MethodPost, "/api/v1/nodes", nil, edit, &out)
}

// SetNodes writes fields on every node of rangeExpr (PATCH
// /api/v1/nodes/{range}) and returns the changed nodes.
func (c *Client) SetNodes(ctx context.Context, rangeExpr string, fields map[string]any) ([]api.Node, error) {
	var out []api.Node
	return out, c.do(ctx, http.MethodPatch, "/api/v1/nodes/"+url.PathEscape(rangeExpr), nil,
		api.NodeEdit{Name: rangeExpr, Fields: fields}, &out)
}

// DeleteNodes removes rangeExpr from the inventory (DELETE
// /api/v1/nodes/{range}) and returns the removed nodes as they were.
func (c *Client) DeleteNodes(ctx context.Context, rangeExpr string) ([]api.Node, error) {
	var out []api.Node
	return out, c.do(ctx, http.MethodDelete, "/api/v1/nodes/"+url.PathEscape(rangeExpr), nil, nil, &out)
}

// SetMode switches the boot mode of a node range (POST /api/v1/mode).
func (c *Client) SetMode(ctx context.Context, set api.ModeSet) (api.ModeSetResult, error) {
	var out api.ModeSetResult
	return out, c.do(ctx, http.MethodPost, "/api/v1/mode", nil, set, &out)
}

// Status returns the status of rangeExpr ("" = all) (GET /api/v1/status).
func (c *Client) Status(ctx context.Context, rangeExpr string) ([]api.Status, error) {
	var out []api.Status
	return out, c.do(ctx, http.MethodGet, "/api/v1/status", rangeQuery(rangeExpr), nil, &out)
}

// Events returns node's last limit events, oldest first (limit <= 0: the
// server's default) (GET /api/v1/events).
func (c *Client) Events(ctx context.Context, node string, limit int) ([]manifest.Event, error) {
	q := url.Values{"node": {node}}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	var out []manifest.Event
	return out, c.do(ctx, http.MethodGet, "/api/v1/events", q, nil, &out)
}

// PostEvents reports events as a node would (POST /api/v1/events).
func (c *Client) PostEvents(ctx context.Context, evs []manifest.Event) error {
	return c.do(ctx, http.MethodPost, "/api/v1/events", nil, evs, nil)
}

// HostKeys returns known_hosts lines ("ADDRESS KEYTYPE KEY") for the nodes
// of rangeExpr that reported a host key (GET /api/v1/hostkeys).
func (c *Client) HostKeys(ctx context.Context, rangeExpr string) (string, error) {
	var b []byte
	err := c.do(ctx, http.MethodGet, "/api/v1/hostkeys", rangeQuery(rangeExpr), nil, &b)
	return string(b), err
}

// Manifest fetches a node's manifest as the agent does (GET /manifest/{node}).
func (c *Client) Manifest(ctx context.Context, node string) (*manifest.Manifest, error) {
	var b []byte
	if err := c.do(ctx, http.MethodGet, "/manifest/"+url.PathEscape(node), nil, nil, &b); err != nil {
		return nil, err
	}
	return manifest.Decode(b)
}

// ManifestByMAC fetches the manifest for a MAC (GET /manifest?mac=).
func (c *Client) ManifestByMAC(ctx context.Context, mac string) (*manifest.Manifest, error) {
	var b []byte
	if err := c.do(ctx, http.MethodGet, "/manifest", url.Values{"mac": {mac}}, nil, &b); err != nil {
		return nil, err
	}
	return manifest.Decode(b)
}

// IPXEScript fetches the iPXE script bootsrv serves to mac (GET /ipxe).
// Like a real boot it consumes a pending next-boot-only mode.
func (c *Client) IPXEScript(ctx context.Context, mac, platform string) (string, error) {
	q := url.Values{"mac": {mac}}
	if platform != "" {
		q.Set("platform", platform)
	}
	var b []byte
	err := c.do(ctx, http.MethodGet, "/ipxe", q, nil, &b)
	return string(b), err
}

// NodeInventory returns a node's latest hardware report (GET
// /api/v1/nodes/{name}/inventory).
func (c *Client) NodeInventory(ctx context.Context, name string) (api.NodeInventory, error) {
	var out api.NodeInventory
	return out, c.do(ctx, http.MethodGet, "/api/v1/nodes/"+url.PathEscape(name)+"/inventory", nil, nil, &out)
}
