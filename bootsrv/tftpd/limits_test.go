package tftpd

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// rrq is a read request without options: the smallest packet that makes a
// TFTP server send a full 516-byte DATA block.
func rrq(name string) []byte {
	b := binary.BigEndian.AppendUint16(nil, 1)
	b = append(b, name...)
	b = append(b, 0)
	b = append(b, "octet"...)
	return append(b, 0)
}

// flood sends n RRQs from one socket that never ACKs (a forged source) and
// returns the bytes sent and received until the server falls silent.
func flood(t *testing.T, addr string, n int, quiet time.Duration) (sent, got, data int) {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 65536)
		for {
			c.SetReadDeadline(time.Now().Add(quiet))
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			got += k
			if k >= 2 && binary.BigEndian.Uint16(buf) == 3 {
				data++
			}
		}
	}()
	p := rrq("undionly.kpxe")
	for range n {
		if _, err := c.WriteTo(p, dst); err != nil {
			t.Fatal(err)
		}
		sent += len(p)
	}
	wg.Wait()
	return sent, got, data
}

// TestSpoofedRRQAmplification measures what one forged RRQ brings its
// victim: the first DATA block and Retries retransmits, no more (the old
// server sent 6 blocks, ~140 times the request).
func TestSpoofedRRQAmplification(t *testing.T) {
	f := startServer(t, func(s *Server) { s.Timeout = 150 * time.Millisecond })
	sent, got, data := flood(t, f.addr, 1, 2*time.Second)
	amp := float64(got) / float64(sent)
	t.Logf("one spoofed RRQ (%d bytes): %d DATA packets, %d bytes back in all: %.0fx", sent, data, got, amp)
	if want := DefaultRetries + 1; data > want {
		t.Errorf("one RRQ brought %d DATA packets, want at most %d (Retries %d)", data, want, DefaultRetries)
	}
	if amp > 75 {
		t.Errorf("amplification %.0fx, want at most 75x", amp)
	}
}

// TestRRQFloodCapped: 1,000 concurrent RRQs from one source start at most
// MaxPerSource transfers; the rest get one short ERROR each, so the flood
// reflects less than it sends, and the other sources are still served.
func TestRRQFloodCapped(t *testing.T) {
	f := startServer(t, func(s *Server) { s.Timeout = 150 * time.Millisecond })
	sent, got, data := flood(t, f.addr, 1000, 2*time.Second)
	st := f.srv.Stats()
	amp := float64(got) / float64(sent)
	t.Logf("1000 RRQs from one source: %d bytes sent, %d bytes back (%d DATA packets, %.2fx); %d transfers started, peak %d at once, %d refused busy (the rest dropped by the socket buffer)",
		sent, got, data, amp, st.Started, st.Peak, st.Busy)
	if st.Peak > DefaultMaxPerSource {
		t.Errorf("peak %d transfers from one source, want at most %d", st.Peak, DefaultMaxPerSource)
	}
	if st.Busy < 100 || st.Started > 10 {
		t.Errorf("%d transfers started and %d refused busy, want few started and many refused", st.Started, st.Busy)
	}
	if amp > 2 {
		t.Errorf("flood amplification %.2fx, want under 2x", amp)
	}
	// Another client (another source address would do; here the same
	// host, once the flood's transfers are over) is served.
	if b, _, err := f.get(t, "undionly.kpxe", 0, false); err != nil || len(b) != len(f.files["undionly.kpxe"]) {
		t.Errorf("a real client after the flood: %d bytes, %v", len(b), err)
	}
}

// TestGlobalCapWaits: over MaxTransfers in all (here 3, six sources), a
// request waits up to Timeout for a slot and is then refused busy; no more
// than MaxTransfers run at once.
func TestGlobalCapWaits(t *testing.T) {
	f := startServer(t, func(s *Server) {
		s.Timeout = 150 * time.Millisecond
		s.MaxTransfers = 3
	})
	dst, err := net.ResolveUDPAddr("udp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.%d:0", 2+i))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.WriteTo(rrq("undionly.kpxe"), dst); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for f.srv.Stats().Busy < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	st := f.srv.Stats()
	t.Logf("6 sources, MaxTransfers 3: started %d, busy %d, peak %d", st.Started, st.Busy, st.Peak)
	if st.Peak != 3 || st.Started != 3 || st.Busy != 3 {
		t.Errorf("started %d, busy %d, peak %d; want 3, 3, 3", st.Started, st.Busy, st.Peak)
	}
}
