package lab

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// DialContext connects from inside the lab's namespace (the socket is
// created there), so host-side test code can reach servers that listen on
// the lab bridges, e.g. bootsrv on 198.18.0.1:8080.
func (l *Lab) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := l.InNamespace(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dial %s %s in %s: %w", network, addr, l.ns, err)
	}
	return c, nil
}

// HTTPClient is an HTTP client whose connections are made inside the lab's
// namespace.
func (l *Lab) HTTPClient() *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext:       l.DialContext,
			DisableKeepAlives: true,
		},
	}
}

// WaitListen waits until a TCP connection to addr (inside the namespace)
// succeeds, for example to know a server started with Start is ready.
func (l *Lab) WaitListen(ctx context.Context, addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		c, err := l.DialContext(dctx, "tcp", addr)
		dcancel()
		if err == nil {
			return c.Close()
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s to listen: %w (last: %v)", addr, ctx.Err(), last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
