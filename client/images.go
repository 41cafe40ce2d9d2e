package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/disklesstrap/disklesstrap/api"
)

// ImageUpload describes an image file to upload with UploadImage.
type ImageUpload struct {
	Name   string
	Format string // squashfs, tar, tar.zst
	SHA256 string // hex digest; the server refuses bytes that do not match
	Size   int64  // bytes the body will deliver (sent as Content-Length); <= 0: unknown
	Files  int    // entries packed (0: unknown)
	Source string // free-form note: where the image was packed from
	// Replace replaces an existing image of the same name; without it the
	// server answers 409 for a name that exists.
	Replace bool
	// Profile is the resolved profile of a built image (trapctl image build).
	Profile *api.ImageProfile
}

// Images lists the image registry (GET /api/v1/images).
func (c *Client) Images(ctx context.Context) ([]api.Image, error) {
	var out []api.Image
	return out, c.do(ctx, http.MethodGet, "/api/v1/images", nil, nil, &out)
}

// Image returns one image's record (GET /api/v1/images/{name}).
func (c *Client) Image(ctx context.Context, name string) (api.Image, error) {
	var out api.Image
	return out, c.do(ctx, http.MethodGet, "/api/v1/images/"+url.PathEscape(name), nil, nil, &out)
}

// DeleteImage removes an image (DELETE /api/v1/images/{name}). Without
// force the server refuses (409) while nodes' image attribute names it.
func (c *Client) DeleteImage(ctx context.Context, name string, force bool) (api.Image, error) {
	q := url.Values{}
	if force {
		q.Set(api.ImageParamForce, "1")
	}
	var out api.Image
	return out, c.do(ctx, http.MethodDelete, "/api/v1/images/"+url.PathEscape(name), q, nil, &out)
}

// UploadImage streams body to PUT /api/v1/images/{name} and returns the
// stored record. The client's overall timeout does not apply (an image
// upload may take long); cancel ctx to stop it.
func (c *Client) UploadImage(ctx context.Context, up ImageUpload, body io.Reader) (api.Image, error) {
	path := "/api/v1/images/" + url.PathEscape(up.Name)
	q := url.Values{api.ImageParamFormat: {up.Format}, api.ImageParamSHA256: {up.SHA256}}
	if up.Files > 0 {
		q.Set(api.ImageParamFiles, strconv.Itoa(up.Files))
	}
	if up.Source != "" {
		q.Set(api.ImageParamSource, up.Source)
	}
	if up.Profile != nil {
		b, err := json.Marshal(up.Profile)
		if err != nil {
			return api.Image{}, err
		}
		q.Set(api.ImageParamProfile, string(b))
	}
	if up.Replace {
		q.Set(api.ImageParamReplace, "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, c.base+path+"?"+q.Encode(), io.NopCloser(body))
	if err != nil {
		return api.Image{}, fmt.Errorf("PUT %s: %w", path, err)
	}
	req.ContentLength = -1
	if up.Size > 0 {
		req.ContentLength = up.Size
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	var out api.Image
	if err := c.send(req, path, &out); err != nil {
		return api.Image{}, err
	}
	return out, nil
}

// DownloadImage streams the image file (GET /images/{name}) into w and
// returns the bytes written. Like UploadImage it ignores the client's
// overall timeout.
func (c *Client) DownloadImage(ctx context.Context, name string, w io.Writer) (int64, error) {
	path := "/images/" + url.PathEscape(name)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	resp, err := c.longClient().Do(req)
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return 0, decodeError(http.MethodGet, path, resp.StatusCode, b)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: after %d bytes: %w", path, n, err)
	}
	return n, nil
}

// longClient is the client without its overall timeout, for transfers.
func (c *Client) longClient() *http.Client {
	hc := *c.hc
	hc.Timeout = 0
	return &hc
}

// send runs a long request and decodes its JSON answer into out.
func (c *Client) send(req *http.Request, path string, out any) error {
	resp, err := c.longClient().Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", req.Method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", req.Method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(req.Method, path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", req.Method, path, err)
	}
	return nil
}
