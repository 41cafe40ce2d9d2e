package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a bytes.Buffer safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// jsonLines parses every line as a JSON object.
func jsonLines(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Errorf("log line is not JSON: %q: %v", sc.Text(), err)
			continue
		}
		out = append(out, m)
	}
	return out
}

// TestRequestLogFollowsNode: with a JSON logger, every line parses, and a
// node's iPXE script, manifest and boot file requests are lines carrying
// node=cn001, its MAC where the request names it, and a request id that
// the response's X-Request-Id repeats. Admin API calls stay at Debug.
func TestRequestLogFollowsNode(t *testing.T) {
	var logs lockedBuffer
	ready := make(chan string, 1)
	ts := startServer(t, func(c *Config) {
		c.Log = slog.New(slog.NewJSONHandler(&logs, nil))
		c.OnReady = func(status string) { ready <- status }
	})
	select {
	case st := <-ready:
		if st != "serving 1 nodes" {
			t.Errorf("OnReady status %q", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("OnReady not called")
	}
	ts.get("/ipxe?mac=52-54-00-00-00-01")
	ts.get("/manifest/cn001")
	ts.get("/api/v1/nodes")

	var node []map[string]any
	ids := map[string]bool{}
	for _, m := range jsonLines(t, logs.String()) {
		if m["node"] == "cn001" {
			node = append(node, m)
		}
		if m["msg"] == "http request" {
			id, _ := m["request"].(string)
			if id == "" || ids[id] {
				t.Errorf("http line without a unique request id: %v", m)
			}
			ids[id] = true
			if m["path"] == "/api/v1/nodes" {
				t.Errorf("admin API call logged at Info: %v", m)
			}
		}
	}
	var paths []string
	for _, m := range node {
		if m["msg"] == "http request" {
			paths = append(paths, m["path"].(string))
		}
		if m["path"] == "/ipxe" && m["mac"] != "52:54:00:00:00:01" {
			t.Errorf("ipxe request line without the MAC: %v", m)
		}
	}
	if got, want := strings.Join(paths, " "), "/ipxe /manifest/cn001"; got != want {
		t.Errorf("cn001's http lines: %q, want %q\n%s", got, want, logs.String())
	}
}

// TestRequestNodeByAddress: a request with no name or MAC in it (a boot
// file, an event post) is the node's whose reserved address sent it.
func TestRequestNodeByAddress(t *testing.T) {
	ts := startServer(t, nil)
	for _, tt := range []struct{ remote, want string }{
		{"198.18.0.11:4242", "cn001"},
		{"[::ffff:198.18.0.11]:4242", "cn001"},
		{"198.18.0.12:4242", ""},
		{"garbage", ""},
	} {
		r := httptest.NewRequest("GET", "/boot/vmlinuz", nil)
		r.RemoteAddr = tt.remote
		if got, _ := ts.s.requestNode(r); got != tt.want {
			t.Errorf("requestNode from %s = %q, want %q", tt.remote, got, tt.want)
		}
	}
}

// TestNodeNamer: a DHCP line with only a MAC gets the node's name.
func TestNodeNamer(t *testing.T) {
	ts := startServer(t, nil)
	var buf lockedBuffer
	log := slog.New(nodeNamer{slog.NewJSONHandler(&buf, nil), ts.s}).With("svc", "dhcp")
	log.Info("dhcp", "mac", "52:54:00:00:00:01", "outcome", "ack")
	log.Info("dhcp", "mac", "52:54:00:00:00:99", "outcome", "ack")
	lines := jsonLines(t, buf.String())
	if len(lines) != 2 || lines[0]["node"] != "cn001" || lines[1]["node"] != nil {
		t.Errorf("named lines: %v", lines)
	}
}
