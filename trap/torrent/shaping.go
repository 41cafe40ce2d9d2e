package torrent

import (
	"context"
	"net"
	"time"

	"golang.org/x/time/rate"
)

// The library's own DownloadRateLimiter refuses every new peer connection,
// incoming and outgoing, while its bucket is empty, which is all the time
// when a node downloads at its cap: a capped swarm then never meshes (in
// the benchmark the peers stayed with the seeder and T(8)/T(1) was 1.75).
// So a download cap is applied to the peers' TCP connections instead, like
// a slower NIC: one token bucket shared by every peer connection and the
// web seed's HTTP connections.

// shapedListener wraps accepted connections.
type shapedListener struct {
	net.Listener
	lim *rate.Limiter
}

func (l shapedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &shapedConn{Conn: c, lim: l.lim}, nil
}

// shapedDialer dials peers from the listening address.
type shapedDialer struct {
	d   net.Dialer
	lim *rate.Limiter
}

func (d *shapedDialer) Dial(ctx context.Context, addr string) (net.Conn, error) {
	return d.DialContext(ctx, "tcp", addr)
}

func (d *shapedDialer) DialerNetwork() string { return "tcp" }

func (d *shapedDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &shapedConn{Conn: c, lim: d.lim}, nil
}

// shapedConn paces reads through lim: it reads at most a bucket's worth,
// then waits for the tokens it used.
type shapedConn struct {
	net.Conn
	lim *rate.Limiter
}

func (c *shapedConn) Read(b []byte) (int, error) {
	if burst := c.lim.Burst(); len(b) > burst {
		b = b[:burst]
	}
	n, err := c.Conn.Read(b)
	if n > 0 {
		r := c.lim.ReserveN(time.Now(), n)
		if r.OK() {
			time.Sleep(r.Delay())
		}
	}
	return n, err
}
