package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/disklesstrap/disklesstrap/bootsrv/admintoken"
	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
)

const bigInventory = `networks:
  - name: lab
    subnet: 198.18.0.0/16
    server: 198.18.0.1
defaults:
  mode: ramroot
nodes:
  - name: cn[00001-10000]
    interfaces:
      - mac: "0200{index:08x}"
        ip: "198.18.{index/200+1}.{index%200+10}"
`

// TestWebPage10k: the status page of a 10,000-node inventory, logged in
// with an admin token in headless Chromium, loads in under a second, shows
// each node's phase, and a phase change reaches the open page without a
// reload. Page size and times are logged; a screenshot is kept.
func TestWebPage10k(t *testing.T) {
	chromium := requireChromium(t)
	dir := t.TempDir()
	inv := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(inv, []byte(bigInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(inv)
	if err != nil {
		t.Fatal(err)
	}
	ptr := &atomic.Pointer[inventory.Cluster]{}
	ptr.Store(c)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var evs []manifest.Event
	for i := 1; i <= 10000; i++ {
		switch {
		case i%10 == 0:
			evs = append(evs, manifest.Event{Node: fmt.Sprintf("cn%05d", i), Phase: manifest.PhaseStepFailed, Message: "image fetch: HTTP 404"})
		case i%3 == 0:
			evs = append(evs, manifest.Event{Node: fmt.Sprintf("cn%05d", i), Phase: manifest.PhaseTrapped})
		case i%3 == 1:
			evs = append(evs, manifest.Event{Node: fmt.Sprintf("cn%05d", i), Phase: manifest.PhaseOSBooted})
		}
	}
	if err := st.AddEvents(evs); err != nil {
		t.Fatal(err)
	}
	text, id, hash, err := admintoken.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddToken(state.Token{ID: id, Name: "web", Hash: hash, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	a := api.New(api.Config{Cluster: ptr, InventoryPath: inv, Store: st, DataDir: filepath.Join(dir, "data"), TLSPort: 8443})
	srv := httptest.NewUnstartedServer(a)
	srv.StartTLS()
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	bctx, stop := browser(ctx, t, chromium)
	defer stop()
	if err := login(bctx, srv.URL, text); err != nil {
		t.Fatalf("login in chromium: %v", err)
	}
	// Measure a fresh load of the page with the session.
	start := time.Now()
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/ui"), chromedp.WaitVisible("#grid")); err != nil {
		t.Fatal(err)
	}
	cells, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll("#grid i").length`))
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	// The page's size as a browser gets it.
	req, _ := http.NewRequest("GET", srv.URL+"/ui", nil)
	req.Header.Set("Authorization", "Bearer "+text)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("MEASURE web page of 10,000 nodes: %d cells, %d bytes (%.0f KiB), server render %s, chromium load to grid %v",
		cells, len(body), float64(len(body))/1024, resp.Header.Get("Server-Timing"), took.Round(time.Millisecond))
	if cells != 10000 {
		t.Errorf("grid has %d cells, want 10000", cells)
	}
	if took > time.Second {
		t.Errorf("the 10,000-node page took %v to load in chromium, want under 1s", took)
	}
	for node, want := range map[string]string{"cn00010": "step-failed", "cn00003": "trapped", "cn00004": "os-booted", "cn00002": ""} {
		if got, err := cellPhase(bctx, node); err != nil || got != want {
			t.Errorf("cell %s shows phase %q (%v), want %q", node, got, err, want)
		}
	}
	errorsShown, _ := chromedp.Run(bctx, chromedp.Text("#errors"))
	if !strings.Contains(errorsShown, "image fetch: HTTP 404") {
		t.Errorf("recent errors do not show the failures: %q", errorsShown)
	}
	// A phase change reaches the open page without a reload.
	if err := st.AddEvents([]manifest.Event{{Node: "cn00002", Phase: manifest.PhaseTrapped}}); err != nil {
		t.Fatal(err)
	}
	changed := time.Now()
	for {
		if got, _ := cellPhase(bctx, "cn00002"); got == "trapped" {
			t.Logf("MEASURE phase change shown %v after the event (polling every 2s)", time.Since(changed).Round(time.Millisecond))
			break
		}
		if time.Since(changed) > 15*time.Second {
			t.Fatalf("cn00002 still not trapped in the open page 15s after its event")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if live, err := liveText(bctx); err != nil || !strings.HasPrefix(live, "live, updated ") {
		t.Errorf("the page's update status is %q, %v; want live, updated HH:MM:SS", live, err)
	}
	// Click a node: its last events.
	err = chromedp.Do(bctx, chromedp.Click("#cn00010"), chromedp.WaitVisible("#events"))
	events, _ := chromedp.Run(bctx, chromedp.Text("#node"))
	if err != nil || !strings.Contains(events, "step-failed") {
		t.Errorf("clicking cn00010 shows %q, %v; want its step-failed event", events, err)
	}
	screenshot(bctx, t, "web-10k.png")
}
