package ramroot

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// fakeHelper is a shell stand-in for cmd/trap-torrent: it writes the
// image to --dest, prints the report lines the real helper prints, and on
// SIGTERM a final "stopped" line. MODE=fail prints an error line instead.
const fakeHelper = `#!/bin/sh
dest=
while [ $# -gt 0 ]; do
	case "$1" in --dest) dest=$2; shift ;; esac
	shift
done
if [ "$MODE" = fail ]; then
	echo '{"event":"error","error":"no peer and no web seed delivered"}'
	exit 1
fi
trap 'echo "{\"event\":\"stopped\",\"progress\":{\"total\":11,\"completed\":11,\"uploaded\":777,\"peers\":2,\"percent\":100,\"done\":true}}"; exit 0' TERM
echo '{"event":"progress","progress":{"total":11,"completed":5,"downloaded":5,"percent":45.4,"peers":2}}'
printf 'image bytes' >"$dest"
echo "{\"event\":\"done\",\"progress\":{\"total\":11,\"completed\":11,\"percent\":100,\"peers\":2,\"done\":true},\"sha256\":\"$SUM\"}"
while :; do
	echo '{"event":"seeding","progress":{"total":11,"completed":11,"uploaded":100,"peers":2,"percent":100,"done":true}}'
	sleep 0.05
done
`

type events struct {
	mu  sync.Mutex
	evs []manifest.Event
}

func (e *events) report(ev manifest.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *events) all() []manifest.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]manifest.Event(nil), e.evs...)
}

func torrentFetch(t *testing.T, mode string) (*Fetch, string, *events, *plan.Env) {
	t.Helper()
	dir := t.TempDir()
	helper := filepath.Join(dir, "trap-torrent")
	if err := os.WriteFile(helper, []byte(fakeHelper), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MODE", mode)
	t.Setenv("SUM", sum([]byte("image bytes")))
	root := t.TempDir()
	s := &Fetch{Root: root, Helper: helper, Every: time.Nanosecond, Image: manifest.Image{
		Name: "testos", URL: "http://127.0.0.1:1/images/testos", SHA256: sum([]byte("image bytes")),
		Transport: manifest.TransportTorrent,
		Torrent:   &manifest.ImageTorrent{URL: "http://127.0.0.1:1/images/testos.torrent", InfoHash: "ab"},
	}}
	ev := &events{}
	f := newFake(root)
	t.Cleanup(func() { StopSeeding(nil) })
	return s, root, ev, &plan.Env{Run: f, Sys: f, Report: ev.report, Manifest: &manifest.Manifest{Node: "cn001"}}
}

// TestFetchTorrentSeedsUntilStopped: the step returns once the helper says
// done, the helper keeps seeding, and StopSeeding ends it with a final
// event carrying the upload.
func TestFetchTorrentSeedsUntilStopped(t *testing.T) {
	s, root, ev, env := torrentFetch(t, "")
	if !strings.HasPrefix(s.String(), "torrent http://127.0.0.1:1/images/testos.torrent -> /run/dt/image") {
		t.Errorf("String() = %q", s.String())
	}
	if err := s.Run(context.Background(), env); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(root, ImagePath)); err != nil || string(b) != "image bytes" {
		t.Errorf("image file = %q, %v", b, err)
	}
	if !Seeding() {
		t.Fatal("Seeding() = false after the fetch, want the helper seeding")
	}
	StopSeeding(env)
	if Seeding() {
		t.Error("Seeding() = true after StopSeeding")
	}
	var states []string
	var last manifest.Event
	for _, e := range ev.all() {
		if e.Phase != manifest.PhaseProgress || e.Node != "cn001" {
			t.Errorf("event %+v: want progress events of cn001", e)
		}
		if len(states) == 0 || states[len(states)-1] != e.Data["state"] {
			states = append(states, e.Data["state"])
		}
		last = e
	}
	if got := strings.Join(states, " "); got != "downloading seeding stopped" {
		t.Errorf("states = %q, want downloading seeding stopped", got)
	}
	first := ev.all()[0]
	if first.Data["percent"] != "45" || first.Data["peers"] != "2" || !strings.HasPrefix(first.Message, "45% 2 peers down 5 B up 0 B") {
		t.Errorf("first event = %+v, want 45%% 2 peers", first)
	}
	if last.Data["up"] != "777" || !strings.HasPrefix(last.Message, "stopped: 100% 2 peers") {
		t.Errorf("last event = %+v, want stopped with up=777", last)
	}
}

func TestFetchTorrentHelperFails(t *testing.T) {
	s, _, _, env := torrentFetch(t, "fail")
	err := s.Run(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "image testos: torrent: no peer and no web seed delivered") {
		t.Fatalf("Run = %v, want the helper's error", err)
	}
	if Seeding() {
		t.Error("Seeding() = true after a failed download")
	}
}

func TestFetchTorrentWrongSum(t *testing.T) {
	s, _, _, env := torrentFetch(t, "")
	t.Setenv("SUM", strings.Repeat("cd", 32))
	err := s.Run(context.Background(), env)
	if err == nil || !strings.Contains(err.Error(), "sha256 mismatch") {
		t.Fatalf("Run = %v, want a sha256 mismatch", err)
	}
	if Seeding() {
		t.Error("Seeding() = true after a mismatch")
	}
}

// TestFetchTorrentNoHelper: without the helper the step falls back to HTTP
// and says so.
func TestFetchTorrentNoHelper(t *testing.T) {
	blob := []byte("image bytes")
	srv, gets := serve(t, blob)
	s, _, ev, env := torrentFetch(t, "")
	s.Helper = filepath.Join(t.TempDir(), "missing")
	s.Image.URL = srv.URL + "/images/testos.sqfs"
	if err := s.Run(context.Background(), env); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if gets.Load() != 1 {
		t.Errorf("%d HTTP GETs, want 1", gets.Load())
	}
	if evs := ev.all(); len(evs) == 0 || !strings.Contains(evs[0].Message, "is not in this initramfs") {
		t.Errorf("events = %+v, want a warning first", evs)
	}
}

// TestSwitchRootStopsSeeding: the helper stops (and its final event is
// reported) before the switch-root event.
func TestSwitchRootStopsSeeding(t *testing.T) {
	s, _, ev, env := torrentFetch(t, "")
	if err := s.Run(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	f := newFake("")
	f.existing("/sysroot/sbin/init")
	env.Run, env.Sys = f, f
	if err := (&SwitchRoot{Init: "/sbin/init"}).Run(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if Seeding() {
		t.Error("still seeding after switch-root")
	}
	evs := ev.all()
	n := len(evs)
	if n < 2 || evs[n-1].Phase != manifest.PhaseSwitchRoot || evs[n-2].Data["state"] != "stopped" {
		t.Errorf("last events = %+v, want the stopped progress then switch-root", evs[max(0, n-2):])
	}
}
