package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretSetShow stores secrets in a real bootsrv API with a secret
// store and shows them back; set never prints the value.
func TestSecretSetShow(t *testing.T) {
	url, dir, _, _ := serverWith(t, nil)
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
			err := run(context.Background(), append([]string{"--server", url}, s.args...), &stdout, &stderr)
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
