package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
)

// TestRequests checks method, path, query and body of each call against a
// recording server (the full round trip against the real bootsrv API is
// tested in cmd/trapctl).
func TestRequests(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = r.Method + " " + r.URL.RequestURI() + " " + strings.TrimSpace(string(b))
		switch {
		case strings.HasPrefix(r.URL.Path, "/api/v1/mode"):
			io.WriteString(w, `{"count":3}`)
		case r.URL.Path == "/api/v1/hostkeys":
			io.WriteString(w, "198.18.0.11 ssh-ed25519 AAAA\n")
		case r.Method == "POST" && r.URL.Path == "/api/v1/events":
			w.WriteHeader(http.StatusNoContent)
		case r.URL.Path == "/api/v1/nodes/cn001":
			io.WriteString(w, `{"name":"cn001","attrs":{}}`)
		default:
			io.WriteString(w, `[]`)
		}
	}))
	defer srv.Close()
	c := New(srv.URL+"/", nil)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"nodes", func() error { _, err := c.Nodes(ctx, "cn[001-002]", true); return err }, "GET /api/v1/nodes?blame=1&range=cn%5B001-002%5D "},
		{"node", func() error { _, err := c.Node(ctx, "cn001", false); return err }, "GET /api/v1/nodes/cn001 "},
		{"add", func() error {
			_, err := c.AddNodes(ctx, api.NodeEdit{Name: "cn9", Fields: map[string]any{"mode": "trap"}})
			return err
		}, `POST /api/v1/nodes {"name":"cn9","fields":{"mode":"trap"}}`},
		{"set", func() error { _, err := c.SetNodes(ctx, "cn[1-2]", map[string]any{"mode": nil}); return err },
			`PATCH /api/v1/nodes/cn%5B1-2%5D {"name":"cn[1-2]","fields":{"mode":null}}`},
		{"delete", func() error { _, err := c.DeleteNodes(ctx, "cn1,cn2"); return err }, "DELETE /api/v1/nodes/cn1%2Ccn2 "},
		{"mode", func() error {
			r, err := c.SetMode(ctx, api.ModeSet{Range: "cn1", Mode: "local", Once: true})
			if err == nil && r.Count != 3 {
				err = errors.New("count not decoded")
			}
			return err
		}, `POST /api/v1/mode {"range":"cn1","mode":"local","once":true}`},
		{"status", func() error { _, err := c.Status(ctx, ""); return err }, "GET /api/v1/status "},
		{"events", func() error { _, err := c.Events(ctx, "cn1", 5); return err }, "GET /api/v1/events?limit=5&node=cn1 "},
		{"post events", func() error { return c.PostEvents(ctx, nil) }, "POST /api/v1/events null"},
		{"hostkeys", func() error {
			s, err := c.HostKeys(ctx, "cn1")
			if err == nil && s != "198.18.0.11 ssh-ed25519 AAAA\n" {
				err = errors.New("text not returned: " + s)
			}
			return err
		}, "GET /api/v1/hostkeys?range=cn1 "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got != tc.want {
				t.Errorf("%s sent %q, want %q", tc.name, got, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/nodes/gone":
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"node gone not in the inventory"}`)
		case "/api/v1/status":
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, "<html>proxy error</html>")
		default:
			io.WriteString(w, "{not json")
		}
	}))
	defer srv.Close()
	c := New(srv.URL, srv.Client())
	ctx := context.Background()

	_, err := c.Node(ctx, "gone", false)
	var e *Error
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Message != "node gone not in the inventory" || !IsNotFound(err) {
		t.Errorf("Node(gone) error = %#v, want *Error 404 with the server's message", err)
	}
	_, err = c.Status(ctx, "")
	if !errors.As(err, &e) || e.StatusCode != 502 || e.Message != "<html>proxy error</html>" || IsNotFound(err) {
		t.Errorf("Status error = %#v, want *Error 502 with the body", err)
	}
	if _, err := c.Nodes(ctx, "", false); err == nil || errors.As(err, &e) {
		t.Errorf("Nodes with a bad JSON answer = %v, want a decode error", err)
	}
}
