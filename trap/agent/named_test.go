package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// TestDiscoveryNamed: an unknown node in the discovery trap waits for its
// name on the manifest route, takes it when bootsrv names it (no reboot),
// reports its host key under the new name and traps again as that node.
func TestDiscoveryNamed(t *testing.T) {
	defer func(d time.Duration) { namedMinPoll = d }(namedMinPoll)
	namedMinPoll = 20 * time.Millisecond
	var mu sync.Mutex
	named := false
	var events []manifest.Event
	var waits int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		disc := manifest.Manifest{Version: 1, Node: "mac-525400123456", Mode: manifest.ModeDiscovery, Server: "http://" + r.Host}
		cn := manifest.Manifest{Version: 1, Node: "cn007", Hostname: "cn007", Mode: manifest.ModeTrap, Server: "http://" + r.Host,
			Network: &manifest.Network{MAC: "52:54:00:12:34:56", Address: "198.18.0.17/24", Gateway: "198.18.0.1"}}
		switch {
		case r.URL.Path == "/manifest" && r.URL.Query().Get("mac") == "52:54:00:12:34:56":
			if r.URL.Query().Get("wait") != "" {
				waits++
				if !named {
					mu.Unlock()
					time.Sleep(50 * time.Millisecond) // a short wait, then no name yet
					mu.Lock()
				}
			}
			if named {
				json.NewEncoder(w).Encode(cn)
			} else {
				json.NewEncoder(w).Encode(disc)
			}
		case r.URL.Path == "/manifest/cn007" && named:
			json.NewEncoder(w).Encode(cn)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v1/events":
			var ev manifest.Event
			json.NewDecoder(r.Body).Decode(&ev)
			events = append(events, ev)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	cmdline := filepath.Join(dir, "cmdline")
	os.WriteFile(cmdline, []byte("BOOTIF=01-52-54-00-12-34-56 dt.server="+srv.URL+"\n"), 0o644)
	pr, pw, _ := os.Pipe()
	defer pw.Close()
	out := &syncBuf{}
	cfg := Config{Root: dir, CmdlinePath: cmdline, SSHAddr: "127.0.0.1:0", Socket: filepath.Join(dir, "trap.sock"),
		ConsoleIn: pr, ConsoleOut: out, Shell: "/bin/sh", Home: dir, Registry: &plan.Registry{},
		FetchAttempts: 3, FetchBackoff: 10 * time.Millisecond, RegisterAttempts: 1, Log: quiet}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, cfg) }()
	defer func() { cancel(); <-errc }()

	waitFor := func(substr string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(out.String(), substr) {
			if time.Now().After(deadline) {
				t.Fatalf("console never showed %q:\n%s", substr, out.String())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor(inTrap + " (node mac-525400123456, mode discovery)")
	time.Sleep(200 * time.Millisecond) // a few waits without a name
	mu.Lock()
	named = true
	mu.Unlock()
	waitFor("*** DisklessTrap: bootsrv named this node cn007: address 198.18.0.17/24, going on in mode trap")
	waitFor(inTrap + " (node cn007, mode trap)")
	fixtureEvents := func() []manifest.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]manifest.Event(nil), events...)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		var keys, trapped bool
		for _, ev := range fixtureEvents() {
			keys = keys || ev.Node == "cn007" && ev.Phase == manifest.PhaseHostKey && strings.HasPrefix(ev.Data["key"], "ssh-ed25519 ")
			trapped = trapped || ev.Node == "cn007" && ev.Phase == manifest.PhaseTrapped
		}
		if keys && trapped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("events lack cn007's host key and trapped: %+v", fixtureEvents())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	if waits < 2 {
		t.Errorf("the agent asked %d times, want it to wait again after an unnamed answer", waits)
	}
	mu.Unlock()
}
