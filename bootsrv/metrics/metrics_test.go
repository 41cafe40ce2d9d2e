package metrics

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/dhcpd"
)

// scrape fetches /metrics from m's handler and returns the text.
func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /metrics = %d, want 200: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}

func wantLines(t *testing.T, text string, lines ...string) {
	t.Helper()
	for _, l := range lines {
		if !strings.Contains(text, "\n"+l+"\n") {
			t.Errorf("scrape lacks line %q", l)
		}
	}
}

func TestMiddlewareRouteIsPattern(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /manifest/{node}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("node") == "missing" {
			http.Error(w, "no such node", http.StatusNotFound)
			return
		}
		io.WriteString(w, "{}")
	})
	mux.HandleFunc("POST /api/v1/events", func(w http.ResponseWriter, r *http.Request) {})
	h := m.Middleware(mux)
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/manifest/n00001", 200},
		{"GET", "/manifest/n00002", 200},
		{"GET", "/manifest/n00003", 200},
		{"GET", "/manifest/missing", 404},
		{"POST", "/api/v1/events", 200},
		{"GET", "/no/such/route/1", 404},
		{"GET", "/no/such/route/2", 404},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.want {
				t.Errorf("%s %s = %d, want %d", tc.method, tc.path, rec.Code, tc.want)
			}
		})
	}
	text := scrape(t, m)
	wantLines(t, text,
		`bootsrv_http_requests_total{code="200",route="GET /manifest/{node}"} 3`,
		`bootsrv_http_requests_total{code="404",route="GET /manifest/{node}"} 1`,
		`bootsrv_http_requests_total{code="200",route="POST /api/v1/events"} 1`,
		`bootsrv_http_requests_total{code="404",route="unmatched"} 2`,
		`bootsrv_http_request_duration_seconds_count{route="GET /manifest/{node}"} 4`,
	)
	if strings.Contains(text, "n00001") || strings.Contains(text, "/no/such") {
		t.Errorf("raw paths leaked into labels:\n%s", text)
	}
}

// readerFromWriter records whether ReadFrom (the sendfile path) was used.
type readerFromWriter struct {
	*httptest.ResponseRecorder
	used bool
}

func (w *readerFromWriter) ReadFrom(r io.Reader) (int64, error) {
	w.used = true
	return io.Copy(w.ResponseRecorder, r)
}

func TestMiddlewareKeepsReadFrom(t *testing.T) {
	m := New()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /boot/{file...}", func(w http.ResponseWriter, r *http.Request) {
		// As http.ServeContent does: io.CopyN, whose LimitReader is no
		// WriterTo, so io.Copy asks the writer for ReadFrom.
		io.CopyN(w, strings.NewReader("kernel bytes"), 12)
	})
	w := &readerFromWriter{ResponseRecorder: httptest.NewRecorder()}
	m.Middleware(mux).ServeHTTP(w, httptest.NewRequest("GET", "/boot/vmlinuz", nil))
	if !w.used {
		t.Errorf("io.Copy through the middleware did not reach ReadFrom")
	}
	if got := w.Body.String(); got != "kernel bytes" {
		t.Errorf("body = %q, want %q", got, "kernel bytes")
	}
	wantLines(t, scrape(t, m), `bootsrv_http_requests_total{code="200",route="GET /boot/{file...}"} 1`)
}

func TestDHCPCollector(t *testing.T) {
	m := New()
	stats := dhcpd.Stats{
		Received:  map[string]uint64{"DISCOVER": 7, "REQUEST": 5},
		Offers:    6,
		Acks:      4,
		Naks:      1,
		Ignored:   1,
		Malformed: 3,
		Errors:    2,
	}
	calls := 0
	if err := m.RegisterDHCP(func() dhcpd.Stats { calls++; return stats }); err != nil {
		t.Fatal(err)
	}
	if err := m.RegisterDHCP(func() dhcpd.Stats { return stats }); err == nil {
		t.Errorf("second RegisterDHCP = nil, want an error")
	}
	text := scrape(t, m)
	wantLines(t, text,
		`bootsrv_dhcp_received_total{type="DISCOVER"} 7`,
		`bootsrv_dhcp_received_total{type="REQUEST"} 5`,
		`bootsrv_dhcp_outcomes_total{outcome="offer"} 6`,
		`bootsrv_dhcp_outcomes_total{outcome="ack"} 4`,
		`bootsrv_dhcp_outcomes_total{outcome="nak"} 1`,
		`bootsrv_dhcp_outcomes_total{outcome="ignore"} 1`,
		`bootsrv_dhcp_outcomes_total{outcome="decline"} 0`,
		`bootsrv_dhcp_malformed_total 3`,
		`bootsrv_dhcp_errors_total 2`,
	)
	if calls != 1 {
		t.Errorf("stats called %d times in one scrape, want 1", calls)
	}
	stats.Acks = 9
	wantLines(t, scrape(t, m), `bootsrv_dhcp_outcomes_total{outcome="ack"} 9`)
}

func TestPhases(t *testing.T) {
	m := New()
	fail := false
	err := m.RegisterPhases(func() (map[string]int, error) {
		if fail {
			return nil, errors.New("database is locked")
		}
		return PhaseCounts([]string{"n1", "n2", "n3", "n4"},
			map[string]string{"n1": "trapped", "n2": "trapped", "n3": "ipxe", "ghost": "trapped"},
			[]string{"discovered"}), nil
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, scrape(t, m),
		`bootsrv_nodes{phase="trapped"} 2`,
		`bootsrv_nodes{phase="ipxe"} 1`,
		`bootsrv_nodes{phase="none"} 1`,
		`bootsrv_nodes{phase="discovered"} 1`,
	)
	fail = true
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "bootsrv_http_") && !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("scrape with a failing phase count = %d, want 200 with the other metrics", rec.Code)
	}
}

func TestPhaseCountsBounded(t *testing.T) {
	var nodes []string
	phase := map[string]string{}
	for i := range 100 {
		n := fmt.Sprintf("n%03d", i)
		nodes = append(nodes, n)
		phase[n] = fmt.Sprintf("phase-%d", i)
	}
	got := PhaseCounts(nodes, phase, nil)
	if len(got) > MaxPhases {
		t.Errorf("PhaseCounts gave %d phases, want at most %d", len(got), MaxPhases)
	}
	total := 0
	for _, n := range got {
		total += n
	}
	if total != 100 {
		t.Errorf("PhaseCounts total = %d, want 100", total)
	}
	if got[PhaseOther] != 100-(MaxPhases-1) {
		t.Errorf("PhaseCounts[%q] = %d, want %d", PhaseOther, got[PhaseOther], 100-(MaxPhases-1))
	}
}

func TestObserveState(t *testing.T) {
	m := New()
	m.ObserveState("commit", 3*time.Millisecond, nil)
	m.ObserveState("commit", 2*time.Millisecond, nil)
	m.ObserveState("write", time.Millisecond, errors.New("disk full"))
	lost := uint64(0)
	if err := m.RegisterQueuedLost(func() uint64 { return lost }); err != nil {
		t.Fatal(err)
	}
	lost = 7
	wantLines(t, scrape(t, m),
		`bootsrv_state_op_duration_seconds_count{op="commit",result="ok"} 2`,
		`bootsrv_state_op_duration_seconds_count{op="write",result="error"} 1`,
		`bootsrv_state_queued_writes_lost_total 7`,
	)
}
