package bootclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// Reporter posts events to bootsrv from one background goroutine. Report
// never blocks: when the queue is full the oldest event is dropped. A
// server that does not answer costs at most Timeout per event, off the
// boot path.
type Reporter struct {
	http    *http.Client
	log     *slog.Logger
	queue   chan manifest.Event
	done    chan struct{}
	mu      sync.Mutex
	server  string
	node    string
	mac     string
	dropped int
	sent    int
	pending int // queued or being posted
	signer  *nodeauth.Signer
	closeMu sync.Once
}

// NewReporter starts a reporter with a queue of size events (default 64)
// and a per-request timeout (default 3s).
func NewReporter(size int, timeout time.Duration, log *slog.Logger) *Reporter {
	if size <= 0 {
		size = 64
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reporter{
		http:  &http.Client{Timeout: orDefault(timeout, 3*time.Second)},
		log:   log,
		queue: make(chan manifest.Event, size),
		done:  make(chan struct{}),
	}
	go r.loop()
	return r
}

// SetTarget sets the server URL and the node/MAC stamped on events that
// lack them. Events sent while the server is empty are dropped: there is
// nowhere to send them.
func (r *Reporter) SetTarget(server, node, mac string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.server = strings.TrimRight(server, "/")
	r.node, r.mac = node, mac
}

// SetSigner makes the reporter sign its requests with the boot's key
// (package nodeauth); events without a node get the signer's node name.
func (r *Reporter) SetSigner(s *nodeauth.Signer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.signer = s
}

// Report queues ev (best effort; never blocks).
func (r *Reporter) Report(ev manifest.Event) {
	r.mu.Lock()
	if ev.Node == "" {
		ev.Node = r.node
	}
	if ev.MAC == "" {
		ev.MAC = r.mac
	}
	r.mu.Unlock()
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	for {
		r.mu.Lock()
		r.pending++
		r.mu.Unlock()
		select {
		case r.queue <- ev:
			return
		default:
		}
		r.mu.Lock()
		r.pending--
		r.mu.Unlock()
		select { // full: drop the oldest and retry
		case <-r.queue:
			r.mu.Lock()
			r.dropped++
			r.pending--
			r.mu.Unlock()
		default:
		}
	}
}

// Stats returns how many events were sent and dropped.
func (r *Reporter) Stats() (sent, dropped int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sent, r.dropped
}

// Flush waits until every queued event was posted (or given up on), or
// ctx is done.
func (r *Reporter) Flush(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		r.mu.Lock()
		n := r.pending
		r.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Close stops the background goroutine; queued events are abandoned.
func (r *Reporter) Close() {
	r.closeMu.Do(func() { close(r.done) })
}

func (r *Reporter) loop() {
	for {
		select {
		case <-r.done:
			return
		case ev := <-r.queue:
			err := r.post(ev)
			r.mu.Lock()
			r.pending--
			if err != nil {
				r.dropped++
			} else {
				r.sent++
			}
			r.mu.Unlock()
			if err != nil {
				r.log.Debug("event not sent", "phase", ev.Phase, "err", err)
			}
		}
	}
}

func (r *Reporter) post(ev manifest.Event) error {
	r.mu.Lock()
	server, signer := r.server, r.signer
	r.mu.Unlock()
	if server == "" {
		return fmt.Errorf("no server")
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if signer != nil && ev.Node == "" {
		ev.Node = signer.Node()
		if b, err = json.Marshal(ev); err != nil {
			return err
		}
	}
	req, err := http.NewRequest(http.MethodPost, server+"/api/v1/events", bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if signer != nil {
		signer.Sign(req, b)
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s/api/v1/events: HTTP %s", server, resp.Status)
	}
	return nil
}
