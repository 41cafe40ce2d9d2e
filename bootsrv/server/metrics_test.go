package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMetricsScrape runs a real server on loopback (DHCP and TFTP off),
// makes requests and reads GET /metrics: requests by route pattern and
// code, nodes by phase, and state store latencies must be there.
func TestMetricsScrape(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(cfgPath, []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	s, err := New(Config{ConfigPath: cfgPath, StateDir: filepath.Join(dir, "state"), DataDir: dir, HTTPAddr: addr,
		DHCPAddr: "off", TFTPAddr: "off", Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	get := func(path string) (int, string) {
		t.Helper()
		for range 50 {
			resp, err := http.Get("http://" + addr + path)
			if err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}
		t.Fatalf("GET %s: server not answering", path)
		return 0, ""
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/ipxe?mac=52:54:00:00:00:01&platform=pcbios", 200},
		{"/manifest/cn001", 200},
		{"/manifest/cn001", 200},
		{"/manifest/nosuchnode", 404},
		{"/no/such/route", 404},
	} {
		if code, body := get(tc.path); code != tc.want {
			t.Fatalf("GET %s = %d, want %d: %s", tc.path, code, tc.want, body)
		}
	}
	get(MetricsPath) // its node count commits the queued writes it reads
	code, text := get(MetricsPath)
	if code != 200 {
		t.Fatalf("GET %s = %d, want 200: %s", MetricsPath, code, text)
	}
	for _, line := range []string{
		`bootsrv_http_requests_total{code="200",route="GET /manifest/{node}"} 2`,
		`bootsrv_http_requests_total{code="404",route="GET /manifest/{node}"} 1`,
		`bootsrv_http_requests_total{code="200",route="GET /ipxe"} 1`,
		`bootsrv_http_requests_total{code="404",route="unmatched"} 1`,
		`bootsrv_nodes{phase="ipxe"} 1`, // cn001's queued ipxe event, committed by the scrape
		`bootsrv_state_queued_writes_lost_total 0`,
	} {
		if !strings.Contains(text, "\n"+line+"\n") {
			t.Errorf("scrape lacks line %q", line)
		}
	}
	for _, prefix := range []string{
		`bootsrv_state_op_duration_seconds_count{op="commit",result="ok"} `,
		`bootsrv_state_op_duration_seconds_count{op="write",result="ok"} `,
		`bootsrv_http_request_duration_seconds_count{route="GET /ipxe"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(text, "\n"+prefix) {
			t.Errorf("scrape lacks a line starting %q", prefix)
		}
	}
	if strings.Contains(text, "nosuchnode") || strings.Contains(text, "/no/such") {
		t.Errorf("raw paths leaked into labels")
	}
	if strings.Contains(text, "bootsrv_dhcp_") {
		t.Errorf("DHCP families exported with DHCP off")
	}
}
