package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// fakeSSH installs an ssh that records, per address, its argv and
// standard input in rec, and returns rec.
func fakeSSH(t *testing.T, dir string) string {
	t.Helper()
	rec := filepath.Join(dir, "rec")
	if err := os.MkdirAll(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(dir, "ssh")
	script := `#!/bin/sh
for a; do addr=$prev; prev=$a; done
printf '%s\n' "$@" > ` + rec + `/$addr.argv
cat > ` + rec + `/$addr.stdin
echo "secret $prev stored"
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := sshProgram
	t.Cleanup(func() { sshProgram = old })
	sshProgram = fake
	return rec
}

// TestLUKSPushFromStore pushes image keys fetched from bootsrv's secret
// store: each node gets its own value (its node scope, else every-node),
// on ssh's stdin only, under the reference name.
func TestLUKSPushFromStore(t *testing.T) {
	url, dir, _, sec := serverWith(t, nil)
	ctx := context.Background()
	var evs []manifest.Event
	for i, n := range []string{"cn001", "cn002", "cn003"} {
		addr := "198.18.0.1" + string(rune('1'+i)) // the inventory's (bootsrv refuses another)
		evs = append(evs,
			manifest.Event{Node: n, Phase: manifest.PhaseNetUp, Data: map[string]string{"address": addr + "/24"}},
			manifest.Event{Node: n, Phase: manifest.PhaseHostKey, Data: map[string]string{"key": hostKey}})
	}
	if err := client.New(url, nil).PostEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct{ scope, name, value string }{
		{secrets.AllNodes, "luks-disk1", "every-node-KEY"},
		{"cn002", "luks-disk1", "cn002-own-KEY"},
		{secrets.AllNodes, "root-key", "root-KEY"},
	} {
		if err := sec.Put(s.scope, s.name, []byte(s.value)); err != nil {
			t.Fatal(err)
		}
	}
	rec := fakeSSH(t, dir)
	addrs := map[string]string{"cn001": "198.18.0.11", "cn002": "198.18.0.12", "cn003": "198.18.0.13"}

	tests := []struct {
		args    []string
		command string
		want    map[string]string // node -> stdin; absent: ssh must not run
	}{
		{[]string{"luks", "push", "cn[001-003]", "disk1"}, "trap secret set luks-disk1",
			map[string]string{"cn001": "every-node-KEY", "cn002": "cn002-own-KEY", "cn003": "every-node-KEY"}},
		{[]string{"luks", "push", "cn[002-003]", "disk1", "--name", "luks"}, "trap secret set luks",
			map[string]string{"cn002": "cn002-own-KEY", "cn003": "every-node-KEY"}},
		{[]string{"luks", "push", "cn001", "disk2", "--secret", "root-key"}, "trap secret set root-key",
			map[string]string{"cn001": "root-KEY"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			os.RemoveAll(rec)
			os.Mkdir(rec, 0o700)
			stdout, stderr, err := trapctl(t, url, tt.args...)
			if err != nil {
				t.Fatalf("trapctl %q = %v (%s)", tt.args, err, stderr)
			}
			for node, addr := range addrs {
				in, err := os.ReadFile(filepath.Join(rec, addr+".stdin"))
				want, ok := tt.want[node]
				switch {
				case !ok && err == nil:
					t.Errorf("ssh ran for %s, outside the range", node)
				case !ok:
				case err != nil:
					t.Errorf("ssh never ran for %s: %v", node, err)
				case string(in) != want:
					t.Errorf("ssh stdin for %s = %q, want %q", node, in, want)
				}
				if !ok {
					continue
				}
				argv, _ := os.ReadFile(filepath.Join(rec, addr+".argv"))
				if !strings.HasSuffix(string(argv), "\n"+tt.command+"\n") || strings.Contains(string(argv), "KEY") {
					t.Errorf("ssh argv for %s = %q, want command %q and no key", node, argv, tt.command)
				}
			}
			if strings.Contains(stdout+stderr, "KEY") {
				t.Errorf("a key appears in trapctl's output: %q %q", stdout, stderr)
			}
			// Groups pushed separately still print as one block per answer.
			if head := fmt.Sprintf(" (%d)\n", len(tt.want)); !strings.Contains(stdout, head) || !strings.Contains(stdout, "secret "+tt.command+" stored") {
				t.Errorf("stdout = %q, want every node's answer under one range", stdout)
			}
		})
	}
}

// TestLUKSPushMissing checks a node without a stored key (or bootsrv
// down) stops the push before any ssh runs.
func TestLUKSPushMissing(t *testing.T) {
	url, dir, _, sec := serverWith(t, nil)
	if err := sec.Put("cn001", "luks-disk1", []byte("cn001-KEY")); err != nil {
		t.Fatal(err)
	}
	rec := fakeSSH(t, dir)
	for _, tt := range []struct {
		url  string
		args []string
		want string
	}{
		{url, []string{"luks", "push", "cn[001-003]", "disk1"}, "bootsrv holds no secret luks-disk1 for cn[002-003]"},
		{url, []string{"luks", "push", "cn001", "disk9"}, "no secret luks-disk9 for cn001"},
		{url, []string{"luks", "push", "zz9", "disk1"}, "zz9"},
		{"http://127.0.0.1:1", []string{"luks", "push", "cn001", "disk1"}, "bootsrv unreachable"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdout, stderr, err := trapctl(t, tt.url, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("trapctl %q = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if ents, _ := os.ReadDir(rec); len(ents) > 0 {
				t.Errorf("ssh ran (%d files in the record) although the push was refused", len(ents))
			}
			if strings.Contains(stdout+stderr+err.Error(), "KEY") {
				t.Errorf("a key appears in trapctl's output")
			}
		})
	}
}
