package metrics

import (
	"io"
	"net/http"
	"strconv"
	"time"
)

// RouteUnmatched is the route label of requests no mux pattern matched.
const RouteUnmatched = "unmatched"

// Middleware counts and times every request next serves, labelled with the
// ServeMux pattern that matched it. net/http's ServeMux records the pattern
// in the *http.Request it is given (Request.Pattern), so it must be a mux
// (or a handler delegating to one) that receives this very request, not a
// copy made with WithContext.
func (m *Metrics) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			route := r.Pattern
			if route == "" {
				route = RouteUnmatched
			}
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			m.httpRequests.WithLabelValues(route, strconv.Itoa(code)).Inc()
			m.httpDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		next.ServeHTTP(rec, r)
	})
}

// recorder remembers the status code. It keeps the fast paths of the
// writer it wraps: ReadFrom (sendfile for boot files and images), Flush,
// and Unwrap for http.ResponseController (hijacking, deadlines).
type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// ReadFrom lets io.Copy reach the connection's sendfile path.
func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{r.ResponseWriter}, src)
}

// Flush implements http.Flusher when the wrapped writer does.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		if r.status == 0 {
			r.status = http.StatusOK
		}
		f.Flush()
	}
}

// Unwrap is for http.ResponseController.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// writerOnly hides ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }
