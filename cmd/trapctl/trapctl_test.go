package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/adminsock"
	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const hostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIINWH6AJ49rJcWVbW2UEqp3hgnz9gl05UASfH2j75fvx root@cn001"

// server starts the real bootsrv API over a temp copy of testdata/cluster.yaml.
func server(t *testing.T) (url, dir, invPath string) {
	t.Helper()
	url, dir, invPath, _ = serverWith(t, nil)
	return url, dir, invPath
}

// serverWith is server with the handler wrapped by wrap (nil: none) and a
// secret store in dir/state/secrets.
func serverWith(t *testing.T, wrap func(http.Handler) http.Handler) (url, dir, invPath string, sec *secrets.Store) {
	t.Helper()
	var h http.Handler
	dir, invPath, h, sec = apiWith(t, nil)
	if wrap != nil {
		h = wrap(h)
	}
	return adminSocketServer(t, h, filepath.Join(dir, "run", "admin.sock")), dir, invPath, sec
}

// apiWith is the real bootsrv API over a temp copy of
// testdata/cluster.yaml, with a state and secret store in dir/state and
// its config changed by mutate (nil: none).
func apiWith(t *testing.T, mutate func(*api.Config)) (dir, invPath string, h http.Handler, sec *secrets.Store) {
	t.Helper()
	dir = t.TempDir()
	data, err := os.ReadFile("testdata/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	invPath = filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(invPath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(invPath)
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
	sec, err = secrets.Open(filepath.Join(dir, "state", "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{
		Cluster: ptr, InventoryPath: invPath, Store: st, DataDir: filepath.Join(dir, "data"), Secrets: sec,
		BaseURL: func(*http.Request) string { return "http://198.18.0.1:8080" },
		// The tests post the nodes' events from loopback, unsigned: node
		// authentication is bootsrv/api's test's (and the lab's) job.
		NodeAuthOff: true,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return dir, invPath, api.New(cfg), sec
}

// adminSocketServer serves h on a real admin socket at sock, marking each
// connection with its peer's uid as bootsrv does (the tests run as root:
// admins), and returns its unix:// URL.
func adminSocketServer(t *testing.T, h http.Handler, sock string) string {
	t.Helper()
	ln, err := adminsock.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ConnContext: func(ctx context.Context, c net.Conn) context.Context {
		uid, pid, err := adminsock.Peer(c)
		if err != nil {
			return ctx
		}
		return api.WithLocalPeer(ctx, api.LocalPeer{UID: uid, PID: pid})
	}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

var (
	ageRE  = regexp.MustCompile(`\b\d+[smhd] ago\b`)
	timeRE = regexp.MustCompile(`\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?`)
	// Image packing: timings and the digest (tar headers carry mtimes).
	durRE    = regexp.MustCompile(`packed in \S+, uploaded in \S+ \(\S+/s\)`)
	sha256RE = regexp.MustCompile(`\b[0-9a-f]{64}\b`)
)

// TestTranscript runs trapctl commands against a real bootsrv API and
// compares the whole transcript (stdout, stderr, exit code) with
// testdata/transcript.golden.
func TestTranscript(t *testing.T) {
	url, dir, invPath := server(t)
	cl := client.New(url, nil)
	ctx := context.Background()
	type step struct {
		args []string
		do   func() error // instead of a command: set up state
		desc string
	}
	post := func(evs ...manifest.Event) func() error {
		return func() error { return cl.PostEvents(ctx, evs) }
	}
	steps := []step{
		{args: []string{"help"}},
		{args: []string{"node", "list"}},
		{args: []string{"-o", "json", "node", "list", "login1"}},
		{args: []string{"node", "show", "cn002", "--blame"}},
		{args: []string{"node", "show", "login1"}},
		{args: []string{"node", "show", "cn999"}},
		{args: []string{"node", "add", "cn[005-006]", "groups=compute", "mac=52:54:00:00:00:{index:02x}", "ip=198.18.0.{index+10}", "network=lab"}},
		{args: []string{"node", "add", "cn005"}},
		{args: []string{"node", "set", "cn[004-005]", "mode=iscsi", "cmdline=console=ttyS0 dt.debug=1"}},
		{args: []string{"node", "show", "cn005", "--blame"}},
		{args: []string{"node", "set", "cn005", "mode="}},
		{args: []string{"node", "set", "cn001", "mode=warp"}},
		{args: []string{"node", "set", "cn001", "novalue"}},
		{args: []string{"node", "delete", "cn006"}},
		{args: []string{"node", "list"}},
		{args: []string{"mode", "set", "cn[001-002]", "local"}},
		{args: []string{"mode", "set", "cn003", "service", "--once"}},
		{args: []string{"mode", "set", "cn[001-009]", "trap"}},
		{args: []string{"mode", "set", "cn001", "warp"}},
		{args: []string{"mode", "set", "cn001"}},
		{desc: "cn001 reports events", do: post(
			manifest.Event{Node: "cn001", Phase: manifest.PhaseAgentStart},
			manifest.Event{Node: "cn001", Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24", "interface": "eth0"}},
			manifest.Event{Node: "cn001", Phase: manifest.PhaseHostKey, Data: map[string]string{"key": hostKey}},
			manifest.Event{Node: "cn001", Phase: manifest.PhaseTrapped},
			manifest.Event{MAC: "52:54:00:00:00:02", Phase: manifest.PhaseStepFailed, Message: "wrong passphrase", Data: map[string]string{"step": "luks"}},
		)},
		{args: []string{"status"}},
		{args: []string{"status", "cn[001-003]", "-o", "json"}},
		{args: []string{"events", "cn001", "--limit", "3"}},
		{args: []string{"events", "cn001", "--limit", "0"}},
		{args: []string{"hostkeys"}},
		{args: []string{"hostkeys", "cn002"}},
		{args: []string{"image", "list"}},
		{args: []string{"image", "pack", "TMP/root", "--name", "testos", "--format", "tar"}},
		{args: []string{"image", "pack", "TMP/root", "--name", "testos", "--format", "tar"}},
		{args: []string{"image", "pack", "TMP/root", "--name", "testos", "--format", "tar", "--replace"}},
		{args: []string{"image", "pack", "TMP/root"}},
		{args: []string{"image", "pack", "TMP/root", "--name", "Bad/Name"}},
		{args: []string{"image", "pack", "TMP/nothere", "--name", "x"}},
		{args: []string{"node", "set", "cn[001-002]", "image=testos", "zram_size=2G", "overlays=/,/var"}},
		{args: []string{"image", "list"}},
		{args: []string{"-o", "json", "image", "show", "testos"}},
		{args: []string{"image", "show", "testos"}},
		{args: []string{"image", "show", "nope"}},
		{args: []string{"image", "delete", "testos"}},
		{args: []string{"image", "delete", "testos", "--force"}},
		{args: []string{"-o", "json", "image", "list"}},
		{args: []string{"frobnicate"}},
		{args: []string{"node", "list", "--bogus"}},
		{args: []string{"node", "list", "a", "b"}},
		{args: []string{"-o", "yaml", "status"}},
		{args: []string{"--server", "http://127.0.0.1:1", "status"}},
	}
	testTree(t, filepath.Join(dir, "root"))
	var out strings.Builder
	for _, s := range steps {
		if s.do != nil {
			fmt.Fprintf(&out, "# %s\n", s.desc)
			if err := s.do(); err != nil {
				t.Fatalf("%s: %v", s.desc, err)
			}
			continue
		}
		args := slices.Clone(s.args)
		for i, a := range args {
			args[i] = strings.ReplaceAll(a, "TMP", dir)
		}
		if !strings.HasPrefix(strings.Join(args, " "), "--server") {
			args = append([]string{"--server", url}, args...)
		}
		var stdout, stderr bytes.Buffer
		err := run(ctx, args, &stdout, &stderr)
		if err != nil {
			fmt.Fprintln(&stderr, "trapctl:", err)
		}
		fmt.Fprintf(&out, "$ trapctl %s\n%s", strings.Join(s.args, " "), stdout.String())
		if stderr.Len() > 0 {
			fmt.Fprintf(&out, "[stderr]\n%s", stderr.String())
		}
		fmt.Fprintf(&out, "[exit %d]\n\n", exitCode(err))
	}
	got := out.String()
	got = strings.ReplaceAll(got, url, "SERVER")
	got = strings.ReplaceAll(got, dir, "TMP")
	got = ageRE.ReplaceAllString(got, "N ago")
	got = timeRE.ReplaceAllString(got, "TIME")
	got = durRE.ReplaceAllString(got, "packed in D, uploaded in D (R/s)")
	got = sha256RE.ReplaceAllString(got, "SHA256")
	if host, err := os.Hostname(); err == nil && host != "" {
		got = strings.ReplaceAll(got, " on "+host, " on HOST")
	}
	golden.Check(t, filepath.Join("testdata", "transcript.golden"), got)

	// The file trapctl edited is a valid inventory with the edits.
	c, err := inventory.Load(invPath)
	if err != nil {
		t.Fatalf("inventory after trapctl edits: %v", err)
	}
	n, ok := c.Node("cn005")
	if !ok || inventory.Val(n.Attrs.Mode) != "ramroot" || inventory.Val(n.Attrs.Cmdline) != "console=ttyS0 dt.debug=1" {
		t.Errorf("cn005 in the file = %+v, want mode ramroot (unset again) and the new cmdline", n)
	}
	if _, ok := c.Node("cn006"); ok {
		t.Errorf("cn006 still in the file after node delete")
	}
}

func TestServerFromEnv(t *testing.T) {
	url, _, _ := server(t)
	old := getenv
	t.Cleanup(func() { getenv = old })
	getenv = func(k string) string {
		if k == "TRAPCTL_SERVER" {
			return url + "/"
		}
		return ""
	}
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"node", "list", "login1"}, &stdout, &stderr); err != nil {
		t.Fatalf("run with TRAPCTL_SERVER: %v (%s)", err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "login1") {
		t.Errorf("node list output = %q, want login1", stdout.String())
	}
}

func TestAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0s ago"}, {12 * time.Second, "12s ago"}, {90 * time.Second, "1m ago"}, {3 * time.Hour, "3h ago"},
		{47 * time.Hour, "47h ago"}, {72 * time.Hour, "3d ago"}, {-time.Second, "0s ago"},
	} {
		if got := age(now, now.Add(-tc.d)); got != tc.want {
			t.Errorf("age(now-%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
	if got := age(now, time.Time{}); got != "never" {
		t.Errorf("age(zero) = %q, want never", got)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"initrd", "build"},
		{"initrd", "build", "-out", "x", "-compression", "xz"},
		{"initrd", "build", "-out", "x", "-file", "nohost"},
		{"node"},
		{"status", "-o"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), args, &stdout, &stderr)
		if code := exitCode(err); code != 2 {
			t.Errorf("run(%q) = %v (exit %d), want a usage error (exit 2)", args, err, code)
		}
		if !strings.Contains(stderr.String(), "usage: trapctl") {
			t.Errorf("run(%q) stderr = %q, want the usage", args, stderr.String())
		}
	}
}
