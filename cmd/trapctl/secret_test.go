package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// TestSecretSetShow stores secrets in a real bootsrv API with a secret
// store and shows them back; set never prints the value.
func TestSecretSetShow(t *testing.T) {
	dir := t.TempDir()
	c, err := inventory.Load("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ptr := &atomic.Pointer[inventory.Cluster]{}
	ptr.Store(c)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sec, err := secrets.Open(filepath.Join(dir, "state", "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Cluster: ptr, Store: st, DataDir: filepath.Join(dir, "data"), Secrets: sec,
		BaseURL: func(*http.Request) string { return "http://198.18.0.1:8080" }}))
	t.Cleanup(srv.Close)
	oldIn := stdinReader
	t.Cleanup(func() { stdinReader = oldIn })
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("file-VALUE"), 0o600); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		args          []string
		stdin         string
		want, wantErr string
	}{
		{[]string{"secret", "set", "luks"}, "all-VALUE", "secret luks stored for 1 scope(s)\n", ""},
		{[]string{"secret", "set", "luks", "--node", "cn[001-002]", keyFile}, "", "secret luks stored for 2 scope(s)\n", ""},
		{[]string{"secret", "show", "luks"}, "", "all-VALUE", ""},
		{[]string{"secret", "show", "luks", "--node", "cn002"}, "", "file-VALUE", ""},
		{[]string{"secret", "show", "luks", "--node", "cn003"}, "", "all-VALUE", ""},
		{[]string{"secret", "show", "chap"}, "", "", "no such secret"},
		{[]string{"secret", "set", "luks", "--node", "cn999"}, "x", "", "cn999"},
		{[]string{"secret", "set", "a/b"}, "x", "", "secret name"},
	}
	for _, s := range steps {
		t.Run(strings.Join(s.args, " "), func(t *testing.T) {
			stdinReader = strings.NewReader(s.stdin)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"--server", srv.URL}, s.args...), &stdout, &stderr)
			if s.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), s.wantErr) {
					t.Fatalf("run(%q) = %v, want an error containing %q", s.args, err, s.wantErr)
				}
				return
			}
			if err != nil || stdout.String() != s.want {
				t.Fatalf("run(%q) = %v, stdout %q, want %q", s.args, err, stdout.String(), s.want)
			}
		})
	}
}
