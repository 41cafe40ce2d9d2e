package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestSwarmRequests(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.Method+" "+r.URL.EscapedPath())
		switch r.URL.Path {
		case "/images/os.torrent":
			io.WriteString(w, "d8:announce3:urle")
		case "/api/v1/images/os/swarm":
			io.WriteString(w, `{"image":"os","pieces":3,"seeder":{"uploaded":7},"nodes":[{"node":"cn1","state":"seeding"}]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, `{"error":"no image \"gone\""}`)
		}
	}))
	defer srv.Close()
	c := New(srv.URL, nil)
	ctx := context.Background()
	s, err := c.ImageSwarm(ctx, "os")
	if err != nil || s.Pieces != 3 || s.Seeder.Uploaded != 7 || len(s.Nodes) != 1 || s.Nodes[0].State != "seeding" {
		t.Errorf("ImageSwarm(os) = %+v, %v", s, err)
	}
	b, err := c.ImageTorrent(ctx, "os")
	if err != nil || string(b) != "d8:announce3:urle" {
		t.Errorf("ImageTorrent(os) = %q, %v", b, err)
	}
	if _, err := c.ImageSwarm(ctx, "gone"); !IsNotFound(err) {
		t.Errorf("ImageSwarm(gone) error = %v, want a 404", err)
	}
	want := []string{"GET /api/v1/images/os/swarm", "GET /images/os.torrent", "GET /api/v1/images/gone/swarm"}
	if len(paths) != len(want) {
		t.Fatalf("requests = %q, want %q", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Errorf("request %d = %q, want %q", i, paths[i], want[i])
		}
	}
}
