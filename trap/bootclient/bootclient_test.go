package bootclient

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const goodManifest = `{"version":1,"node":"cn001","hostname":"cn001","mode":"trap","server":"http://198.18.0.1:8080","ssh_keys":["ssh-ed25519 AAAA x"]}`

func TestManifestURL(t *testing.T) {
	mac, _ := net.ParseMAC("52:54:00:aa:bb:cc")
	tests := []struct {
		server, node string
		mac          net.HardwareAddr
		want         string
		wantErr      bool
	}{
		{"http://s:8080/", "cn001", mac, "http://s:8080/manifest/cn001", false},
		{"http://s:8080", "", mac, "http://s:8080/manifest?mac=52%3A54%3A00%3Aaa%3Abb%3Acc", false},
		{"http://s", "a/b", nil, "http://s/manifest/a%2Fb", false},
		{"", "cn001", nil, "", true},
		{"http://s", "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			got, err := ManifestURL(tt.server, tt.node, tt.mac)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("ManifestURL(%q, %q, %v) = %q, %v, want %q (err %v)", tt.server, tt.node, tt.mac, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestManifestRetries(t *testing.T) {
	tests := []struct {
		name      string
		responses []string // "500", "bad", "ok", "slow"
		attempts  int
		wantErr   string
		wantCalls int
		wantWaits []time.Duration
	}{
		{name: "first-try", responses: []string{"ok"}, attempts: 5, wantCalls: 1},
		{name: "after-errors", responses: []string{"500", "404", "bad", "slow", "ok"}, attempts: 6, wantCalls: 5,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}},
		{name: "gives-up", responses: []string{"500"}, attempts: 3, wantCalls: 3, wantErr: "HTTP 500",
			wantWaits: []time.Duration{time.Second, 2 * time.Second}},
		{name: "bad-version", responses: []string{"v9"}, attempts: 2, wantCalls: 2, wantErr: "version 9 not supported",
			wantWaits: []time.Duration{time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1))
				if r.URL.Path != "/manifest/cn001" {
					http.Error(w, "wrong path "+r.URL.Path, http.StatusBadRequest)
					return
				}
				switch tt.responses[min(n, len(tt.responses))-1] {
				case "ok":
					io.WriteString(w, goodManifest)
				case "bad":
					io.WriteString(w, "{not json")
				case "v9":
					io.WriteString(w, strings.Replace(goodManifest, `"version":1`, `"version":9`, 1))
				case "404":
					http.Error(w, "unknown node", http.StatusNotFound)
				case "slow":
					time.Sleep(300 * time.Millisecond)
					io.WriteString(w, goodManifest)
				default:
					http.Error(w, "boom", http.StatusInternalServerError)
				}
			}))
			defer srv.Close()
			var waits []time.Duration
			f := &Fetcher{Attempts: tt.attempts, Backoff: time.Second, MaxBackoff: 4 * time.Second, Timeout: 100 * time.Millisecond, Log: quiet,
				Sleep: func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }}
			m, err := f.Manifest(context.Background(), srv.URL, "cn001", nil)
			if tt.wantErr == "" && (err != nil || m.Node != "cn001" || m.Mode != manifest.ModeTrap) {
				t.Errorf("Manifest() = %+v, %v, want node cn001 mode trap", m, err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Manifest() error = %v, want containing %q", err, tt.wantErr)
			}
			if got := int(calls.Load()); got != tt.wantCalls {
				t.Errorf("Manifest() made %d requests, want %d", got, tt.wantCalls)
			}
			if len(waits) != len(tt.wantWaits) || (len(waits) > 0 && !equal(waits, tt.wantWaits)) {
				t.Errorf("Manifest() waited %v, want %v", waits, tt.wantWaits)
			}
		})
	}
}

func equal(a, b []time.Duration) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

func TestManifestByMACAndCancel(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.RequestURI()
		io.WriteString(w, goodManifest)
	}))
	defer srv.Close()
	mac, _ := net.ParseMAC("52:54:00:aa:bb:cc")
	if _, err := (&Fetcher{Log: quiet}).Manifest(context.Background(), srv.URL, "", mac); err != nil {
		t.Fatalf("Manifest(by mac) error = %v", err)
	}
	if want := "/manifest?mac=52%3A54%3A00%3Aaa%3Abb%3Acc"; got != want {
		t.Errorf("request URI = %q, want %q", got, want)
	}
	// A dead server and a cancelled context: returns promptly with an error.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := (&Fetcher{Log: quiet, Backoff: 50 * time.Millisecond}).Manifest(ctx, "http://127.0.0.1:1", "cn001", nil)
	if err == nil || time.Since(start) > 3*time.Second {
		t.Errorf("Manifest(dead server) = %v after %v, want an error within the context deadline", err, time.Since(start))
	}
}

func TestReporter(t *testing.T) {
	var mu sync.Mutex
	var got []manifest.Event
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v1/events" {
			http.Error(w, "bad", http.StatusNotFound)
			return
		}
		var ev manifest.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	r := NewReporter(8, time.Second, quiet)
	defer r.Close()
	r.SetTarget(srv.URL+"/", "cn001", "52:54:00:aa:bb:cc")
	r.Report(manifest.Event{Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24"}})
	r.Report(manifest.Event{Phase: manifest.PhaseManifest, Node: "other"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.Flush(ctx); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	if sent, dropped := r.Stats(); sent != 2 || dropped != 0 {
		t.Errorf("Stats() = %d sent, %d dropped, want 2, 0", sent, dropped)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 2 {
		t.Fatalf("server got %d events, want 2", len(got))
	}
	if got[0].Node != "cn001" || got[0].MAC != "52:54:00:aa:bb:cc" || got[0].Phase != manifest.PhaseNetUp || got[0].Data["address"] != "198.18.0.11/24" || got[0].Time.IsZero() {
		t.Errorf("event 0 = %+v, want node cn001, mac, net-up, address, time", got[0])
	}
	if got[1].Node != "other" {
		t.Errorf("event 1 node = %q, want the explicit %q kept", got[1].Node, "other")
	}
}

// TestReporterNeverBlocks: a server that never answers must not stall
// Report; the queue drops the oldest events.
func TestReporterNeverBlocks(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	r := NewReporter(4, 50*time.Millisecond, quiet)
	defer r.Close()
	r.SetTarget(srv.URL, "cn001", "")
	start := time.Now()
	for i := 0; i < 1000; i++ {
		r.Report(manifest.Event{Phase: manifest.PhaseProgress})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("1000 Report calls took %v with a dead server, want < 1s", d)
	}
	if _, dropped := r.Stats(); dropped < 900 {
		t.Errorf("dropped = %d, want >= 900 with a queue of 4", dropped)
	}
}
