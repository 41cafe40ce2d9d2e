package client

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/disklesstrap/disklesstrap/api"
)

// Console attaches to node's serial console through bootsrv (POST
// /api/v1/console/NAME, Upgrade: dt-console): the returned connection
// carries raw console bytes both ways; Close ends the session.
func (c *Client) Console(ctx context.Context, node string) (io.ReadWriteCloser, error) {
	path := "/api/v1/console/" + url.PathEscape(node)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", api.ConsoleUpgrade)
	resp, err := c.longClient().Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, decodeError(http.MethodPost, path, resp.StatusCode, b)
	}
	rwc, ok := resp.Body.(io.ReadWriteCloser)
	if !ok {
		resp.Body.Close()
		return nil, fmt.Errorf("POST %s: the upgraded connection is not writable", path)
	}
	return rwc, nil
}
