package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

// Every log line about a node carries node= (and mac= and request= where
// they apply), so `journalctl -u bootsrv | grep cn042` tells a node's boot:
// its DHCP lease, iPXE script, kernel and initramfs downloads, manifest and
// events. requestLog writes one line per HTTP request: Info when the
// request comes from a node (named in the path, by ?mac=, or by its
// reserved address), Debug for the rest (admin API calls).

// requestIDHeader carries the request id back to the client.
const requestIDHeader = "X-Request-Id"

// requestLog wraps next with the per-request log line.
func (s *Server) requestLog(next http.Handler) http.Handler {
	prefix := make([]byte, 3)
	rand.Read(prefix)
	var seq atomic.Uint64
	pre := hex.EncodeToString(prefix) + "-"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.log.Enabled(r.Context(), slog.LevelInfo) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		id := pre + strconv.FormatUint(seq.Add(1), 10)
		w.Header().Set(requestIDHeader, id)
		rec := &sizeRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		node, mac := s.requestNode(r)
		level := slog.LevelDebug
		if node != "" || mac != "" {
			level = slog.LevelInfo
		}
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		attrs := []slog.Attr{slog.String("request", id)}
		if node != "" {
			attrs = append(attrs, slog.String("node", node))
		}
		if mac != "" {
			attrs = append(attrs, slog.String("mac", mac))
		}
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", status), slog.Int64("bytes", rec.bytes), slog.String("remote", r.RemoteAddr),
			slog.Duration("took", time.Since(start)))
		s.log.LogAttrs(context.Background(), level, "http request", attrs...)
	})
}

// requestNode names the node a request is from or about: the {node} in
// its path, the owner of ?mac=, or the node whose reserved address sent it.
func (s *Server) requestNode(r *http.Request) (node, mac string) {
	c := s.Cluster()
	if m := r.URL.Query().Get("mac"); m != "" {
		if hw, err := net.ParseMAC(m); err == nil {
			mac = hw.String()
			if n, _, ok := c.ByMAC(hw); ok {
				return n.Name, mac
			}
		}
	}
	if n := r.PathValue("node"); n != "" {
		return n, mac
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return "", mac
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "", mac
	}
	if n := nodeByIP(c, ip.Unmap()); n != nil {
		return n.Name, mac
	}
	return "", mac
}

// nodeByIP finds the node with a reserved interface address ip.
func nodeByIP(c *inventory.Cluster, ip netip.Addr) *inventory.Node {
	for _, n := range c.Nodes() {
		for _, i := range n.Interfaces {
			if i.IP == ip {
				return n
			}
		}
	}
	return nil
}

// sizeRecorder remembers the status and counts the body bytes, keeping
// the wrapped writer's ReadFrom (sendfile), Flush and Unwrap.
type sizeRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *sizeRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *sizeRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *sizeRecorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(r.ResponseWriter, src)
	}
	r.bytes += n
	return n, err
}

func (r *sizeRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *sizeRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
