package api

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Limits bound what one HTTP request may hold: its body's size and how long
// the connection may sit without progress. They are applied per request
// (http.ResponseController deadlines), not by http.Server's whole-request
// timeouts, so that long transfers stay possible by design: an image
// upload, an image or boot file download may take as long as it needs, as
// long as bytes keep moving (each read or write pushes its deadline by
// TransferIdle). Every other request must send its whole body within
// BodyTimeout and get its answer out within WriteTimeout.
type Limits struct {
	// MaxImageSize caps an image upload (PUT /api/v1/images/{name}); a
	// larger Content-Length is refused before a byte is read, a longer
	// chunked body is cut off and its temporary file removed.
	MaxImageSize int64
	// MaxBody caps the body of every other request. Routes cap tighter
	// where they know better (node edits, mode sets, secrets).
	MaxBody int64
	// BodyTimeout is how long an ordinary request may take to send its
	// body; WriteTimeout how long its answer may take to be written.
	BodyTimeout, WriteTimeout time.Duration
	// TransferIdle cuts a long transfer that made no progress this long.
	TransferIdle time.Duration
}

// Defaults of Limits' zero fields.
const (
	DefaultMaxImageSize = 64 << 30 // 64 GiB
	DefaultMaxBody      = 4 << 20  // the largest route cap (hardware inventories in events)
	DefaultBodyTimeout  = 30 * time.Second
	DefaultWriteTimeout = 60 * time.Second
	DefaultTransferIdle = 60 * time.Second
)

func (l Limits) withDefaults() Limits {
	if l.MaxImageSize <= 0 {
		l.MaxImageSize = DefaultMaxImageSize
	}
	if l.MaxBody <= 0 {
		l.MaxBody = DefaultMaxBody
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = DefaultBodyTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.TransferIdle <= 0 {
		l.TransferIdle = DefaultTransferIdle
	}
	return l
}

// transfer names the long-transfer routes: an image upload, image and boot
// file downloads. Everything else is an ordinary request.
func transfer(r *http.Request) (upload, download bool) {
	p := r.URL.Path
	switch r.Method {
	case http.MethodPut:
		return strings.HasPrefix(p, "/api/v1/images/") && !strings.Contains(strings.TrimPrefix(p, "/api/v1/images/"), "/"), false
	case http.MethodGet, http.MethodHead:
		return false, strings.HasPrefix(p, "/boot/") || strings.HasPrefix(p, "/images/")
	}
	return false, false
}

// Handler applies the limits to every request next serves.
func (l Limits) Handler(next http.Handler) http.Handler {
	l = l.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		now := time.Now()
		upload, download := transfer(r)
		switch {
		case upload:
			if r.ContentLength > l.MaxImageSize {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
					"image upload of %d bytes is larger than bootsrv's --max-image-size %d", r.ContentLength, l.MaxImageSize))
				return
			}
			rc.SetReadDeadline(now.Add(l.TransferIdle))
			rc.SetWriteDeadline(time.Time{})
			r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, l.MaxImageSize), rc: rc, idle: l.TransferIdle}
		case download:
			// No read deadline: nothing is to be read, and an expired one
			// would cancel the request's context mid-transfer.
			rc.SetWriteDeadline(now.Add(l.TransferIdle))
			r.Body = http.MaxBytesReader(w, r.Body, l.MaxBody)
			w = &progressWriter{ResponseWriter: w, rc: rc, idle: l.TransferIdle}
		default:
			if r.ContentLength > l.MaxBody {
				writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf(
					"request body of %d bytes is larger than the %d bytes %s %s takes", r.ContentLength, l.MaxBody, r.Method, r.URL.Path))
				return
			}
			if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
				rc.SetReadDeadline(now.Add(l.BodyTimeout))
				r.Body = &deadlineBody{ReadCloser: http.MaxBytesReader(w, r.Body, l.MaxBody), rc: rc}
			}
			rc.SetWriteDeadline(now.Add(l.BodyTimeout + l.WriteTimeout))
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody ends the read deadline once the body is read (what follows
// is the handler's work, bounded by the write deadline; an expired read
// deadline would cancel the request's context). With idle set, every read
// that got bytes also pushes the deadline: a stalled upload is cut after
// idle, a moving one never.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	idle time.Duration
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF:
		b.rc.SetReadDeadline(time.Time{})
	case n > 0 && b.idle > 0:
		b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	return n, err
}

// progressWriter pushes the write deadline before every write. ReadFrom
// (sendfile) copies in chunks, each with a fresh deadline, so a download
// may last as long as it moves at least one chunk per idle period.
type progressWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

// transferChunk is how much a download must move per TransferIdle.
const transferChunk = 4 << 20

func (w *progressWriter) Write(p []byte) (int, error) {
	w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	return w.ResponseWriter.Write(p)
}

func (w *progressWriter) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := w.ResponseWriter.(io.ReaderFrom)
	if !ok {
		return io.Copy(struct{ io.Writer }{w}, src)
	}
	// Keep sendfile: the kernel path sees through one LimitedReader only,
	// so a limited source (http.ServeContent's) is re-limited per chunk.
	lr, limited := src.(*io.LimitedReader)
	if !limited {
		lr = &io.LimitedReader{R: src, N: 1<<63 - 1}
	}
	inner, left := lr.R, lr.N
	defer func() { lr.N = left }()
	var total int64
	for left > 0 {
		w.rc.SetWriteDeadline(time.Now().Add(w.idle))
		chunk := min(left, transferChunk)
		n, err := rf.ReadFrom(&io.LimitedReader{R: inner, N: chunk})
		total += n
		left -= n
		if err != nil || n < chunk {
			return total, err
		}
	}
	return total, nil
}

func (w *progressWriter) Flush() {
	w.rc.SetWriteDeadline(time.Now().Add(w.idle))
	w.rc.Flush()
}

func (w *progressWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// timedOut reports whether err is a read cut by a deadline.
func timedOut(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// tooLarge reports whether err is a body cut off by a size cap.
func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}
