package server

import (
	"strings"
	"testing"
)

// TestMetricsScrape runs a real server on loopback (DHCP and TFTP off),
// makes requests and reads GET /metrics: requests by route pattern and
// code, nodes by phase, and state store latencies must be there.
func TestMetricsScrape(t *testing.T) {
	get := startServer(t, nil).get
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
