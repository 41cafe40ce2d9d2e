package swarm

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"

	"golang.org/x/time/rate"
)

// WebSeed serves one image file over HTTP with Range support (BEP 19: a
// single-file torrent's url-list entry is the file's own URL). Limiter, if
// set, paces the response bodies; share it with the Seeder to cap bootsrv's
// total image egress. bootsrv's own /images/ file handler works as a web
// seed too, as long as it honours Range.
type WebSeed struct {
	Path    string
	Limiter *rate.Limiter
}

// ServeHTTP serves the file, GET and HEAD only.
func (ws WebSeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, err := os.Open(ws.Path)
	if err != nil {
		http.Error(w, "image not available", http.StatusNotFound)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.Error(w, "image not available", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if ws.Limiter != nil {
		w = &limitedWriter{ResponseWriter: w, lim: ws.Limiter, ctx: r.Context()}
	}
	http.ServeContent(w, r, path.Base(ws.Path), st.ModTime(), f)
}

// limitedWriter paces writes through a token bucket, in chunks no larger
// than the bucket.
type limitedWriter struct {
	http.ResponseWriter
	lim *rate.Limiter
	ctx context.Context
}

func (lw *limitedWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := min(len(p), 32<<10, max(lw.lim.Burst(), 1))
		if lw.lim.Limit() != rate.Inf {
			if err := lw.lim.WaitN(lw.ctx, chunk); err != nil {
				return n, fmt.Errorf("web seed rate limit: %w", err)
			}
		}
		w, err := lw.ResponseWriter.Write(p[:chunk])
		n += w
		if err != nil {
			return n, err
		}
		p = p[chunk:]
	}
	return n, nil
}

// ReadFrom hides the underlying writer's ReadFrom (sendfile), which would
// bypass the limiter.
func (lw *limitedWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.CopyBuffer(writerOnly{lw}, r, make([]byte, 32<<10))
}

type writerOnly struct{ io.Writer }
