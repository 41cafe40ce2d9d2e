// Package client is the Go client of bootsrv's admin API (see
// bootsrv/api), used by trapctl and the lab tests. Every method maps to one
// HTTP route; a non-2xx answer comes back as *Error carrying the server's
// message and status code.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Client talks to one bootsrv.
type Client struct {
	base    string // URL requests are made to
	display string // what New was given, for messages
	hc      *http.Client
}

// New returns a client for the bootsrv at baseURL: "http://198.18.0.1:8080"
// (public routes only: admin routes need a credential), or
// "unix:///run/disklesstrap/admin.sock", bootsrv's admin socket, where the
// kernel tells bootsrv who connects (root: an admin). For a remote admin
// with a token use NewToken or Connect. A nil hc means
// http.DefaultClient; with a unix:// URL only its Timeout is used.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := &Client{base: strings.TrimRight(baseURL, "/"), display: baseURL, hc: hc}
	if sock, ok := strings.CutPrefix(baseURL, "unix://"); ok {
		c.base = unixBase
		c.hc = &http.Client{Timeout: hc.Timeout, Transport: UnixTransport(sock)}
	}
	return c
}

// BaseURL is the server as given to New (without a trailing /), or the
// https URL of NewToken.
func (c *Client) BaseURL() string { return strings.TrimRight(c.display, "/") }

// HTTPClient is the client's HTTP client (its transport carries the
// credential) and URL the base URL to use with it: for tools that make
// requests of their own on the same connection.
func (c *Client) HTTPClient() (hc *http.Client, url string) { return c.hc, c.base }

// Error is a non-2xx answer from the server.
type Error struct {
	StatusCode int    // HTTP status
	Message    string // the server's api.Error message (or the body's start)
	Method     string
	Path       string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d from %s %s)", e.Message, e.StatusCode, e.Method, e.Path)
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// do sends a request with an optional JSON body and decodes a JSON answer
// into out (nil: discard), or returns the raw body when out is *[]byte.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return decodeError(method, path, resp.StatusCode, b)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}

func decodeError(method, path string, status int, body []byte) error {
	e := &Error{StatusCode: status, Method: method, Path: path}
	var ae struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &ae) == nil && ae.Error != "" {
		e.Message = ae.Error
	} else {
		msg := strings.TrimSpace(string(body))
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
		if msg == "" {
			msg = http.StatusText(status)
		}
		e.Message = msg
	}
	return e
}

func rangeQuery(rangeExpr string) url.Values {
	q := url.Values{}
	if rangeExpr != "" {
		q.Set("range", rangeExpr)
	}
	return q
}
