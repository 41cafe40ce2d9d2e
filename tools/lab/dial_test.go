package lab

import (
	"context"
	"io"

	"testing"
	"time"
)

// TestHTTPClientInNamespace serves a file with busybox httpd inside the
// namespace and fetches it through HTTPClient.
func TestHTTPClientInNamespace(t *testing.T) {
	requireNetns(t)
	l := newTestLab(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	addr := l.BridgeAddr(0).String() + ":8081"
	// Nothing listens yet: the wait must fail.
	if err := l.WaitListen(ctx, addr, 300*time.Millisecond); err == nil {
		t.Fatalf("WaitListen(%s) before the server = nil, want error", addr)
	}
	if _, err := l.Start("httpd", l.Exec(context.Background(), "busybox", "httpd", "-f", "-p", addr, "-h", l.Dir())); err != nil {
		t.Fatalf("Start httpd: %v", err)
	}
	if err := l.WaitListen(ctx, addr, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	resp, err := l.HTTPClient().Get("http://" + addr + "/httpd.log")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err != nil || resp.StatusCode != 200 {
		t.Errorf("GET httpd.log = %d, %v; want 200", resp.StatusCode, err)
	}
}
