package storm

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// storm is the state shared by the simulated nodes and the admin.
type storm struct {
	cfg   Config
	bases []string // bootsrv replicas' HTTP base URLs (replicas.go)
	relay *Relay
	http  *http.Client
	// admin reaches bootsrv's admin socket (as root: an admin) for mode
	// switches, status and event reads; nodes use http.
	adminHC *http.Client

	mu      sync.Mutex
	acked   [][]string     // node index -> messages of acknowledged events
	retries map[string]int // step -> failed attempts
	lastErr map[string]string
	modeLog []modeSet // acknowledged switches, in order
	// inDoubt is the switch in flight when the storm ended: sent, maybe
	// applied, never acknowledged. Its nodes may show either mode.
	inDoubt *modeSet

	booted atomic.Int64 // boots completed, all nodes (milestone kills)

	// lostEvents and lostModes are the acknowledgements a check found
	// broken ("node\x00message", node), counted once whichever check
	// (API, SQLite) found them.
	lostEvents, lostModes map[string]bool
}

type modeSet struct {
	first, last int
	mode        manifest.Mode
}

// retry runs f until it succeeds or ctx ends, with jittered exponential
// backoff from 20 ms to 1 s.
func (s *storm) retry(ctx context.Context, step string, f func() error) error {
	wait := 20 * time.Millisecond
	for {
		err := f()
		if err == nil {
			return nil
		}
		s.mu.Lock()
		s.retries[step]++
		s.lastErr[step] = err.Error()
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: gave up: %w (last error: %v)", step, ctx.Err(), err)
		case <-time.After(wait/2 + rand.N(wait)):
		}
		wait = min(2*wait, time.Second)
	}
}

// node boots node i Boots times.
func (s *storm) node(ctx context.Context, i int) error {
	// Nodes do not all power on in the same millisecond.
	time.Sleep(rand.N(200 * time.Millisecond))
	for b := range s.cfg.Boots {
		if err := s.boot(ctx, i, b); err != nil {
			return fmt.Errorf("boot %d: %w", b+1, err)
		}
		s.booted.Add(1)
	}
	return nil
}

// boot is one network boot of node i: DORA, script, manifest, boot key
// registration, signed events.
func (s *storm) boot(ctx context.Context, i, b int) error {
	name, mac := NodeName(i), NodeMAC(i)
	err := s.retry(ctx, "dhcp", func() error {
		a, err := s.relay.DORA(ctx, mac, time.Second)
		if err != nil {
			return err
		}
		if a != NodeIP(i) {
			return fmt.Errorf("dhcp: got %s, want the reservation %s", a, NodeIP(i))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = s.retry(ctx, "script", func() error {
		body, err := s.get(ctx, "/ipxe?mac="+mac.String()+"&platform=pcbios")
		if err != nil {
			return err
		}
		if !bytes.HasPrefix(body, []byte("#!ipxe")) || !bytes.Contains(body, []byte("node "+name)) {
			return fmt.Errorf("script for %s: unexpected body %.80q", name, body)
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = s.retry(ctx, "manifest", func() error {
		body, err := s.get(ctx, "/manifest/"+name)
		if err != nil {
			return err
		}
		var m manifest.Manifest
		if err := json.Unmarshal(body, &m); err != nil {
			return fmt.Errorf("manifest of %s: %w", name, err)
		}
		if m.Node != name {
			return fmt.Errorf("manifest of %s names node %q", name, m.Node)
		}
		return nil
	})
	if err != nil {
		return err
	}
	nc, err := s.register(ctx, i)
	if err != nil {
		return err
	}
	defer nc.close()
	for k := range s.cfg.Events {
		msg := fmt.Sprintf("storm %s boot %d event %d", name, b+1, k)
		ev := manifest.Event{Node: name, MAC: mac.String(), Phase: manifest.PhaseProgress, Message: msg,
			Data: map[string]string{"step": "storm"}}
		err := s.retry(ctx, "event", func() error { return nc.post(ctx, s.pickBase()+"/api/v1/events", ev) })
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.acked[i] = append(s.acked[i], msg)
		s.mu.Unlock()
	}
	return nil
}

// admin switches modes over random ranges until ctx ends, each switch
// retried until acknowledged.
func (s *storm) admin(ctx context.Context) {
	modes := []manifest.Mode{manifest.ModeTrap, manifest.ModeLocal, manifest.ModeService, manifest.ModeInstall}
	for ctx.Err() == nil {
		first := 1 + rand.N(s.cfg.Nodes)
		last := min(s.cfg.Nodes, first+rand.N(max(1, s.cfg.Nodes/4)))
		set := modeSet{first, last, modes[rand.N(len(modes))]}
		body := api.ModeSet{Range: NodeRange(first, last), Mode: set.mode}
		var res api.ModeSetResult
		s.mu.Lock()
		s.inDoubt = &set
		s.mu.Unlock()
		err := s.retry(ctx, "mode", func() error {
			b, err := s.adminDo(ctx, "POST", "/api/v1/mode", body)
			if err != nil {
				return err
			}
			return json.Unmarshal(b, &res)
		})
		if err != nil {
			return // ctx ended: this switch was never acknowledged
		}
		s.mu.Lock()
		s.modeLog = append(s.modeLog, set)
		s.inDoubt = nil
		s.mu.Unlock()
		time.Sleep(rand.N(50 * time.Millisecond))
	}
}

func (s *storm) get(ctx context.Context, path string) ([]byte, error) {
	return s.do(ctx, "GET", path, nil)
}

// adminGet is a GET on the admin socket.
func (s *storm) adminGet(ctx context.Context, path string) ([]byte, error) {
	return s.adminDo(ctx, "GET", path, nil)
}

// adminDo is do on the admin socket.
func (s *storm) adminDo(ctx context.Context, method, path string, v any) ([]byte, error) {
	return s.send(ctx, s.adminHC, "http://localhost", method, path, v)
}

func (s *storm) post(ctx context.Context, path string, v any) error {
	_, err := s.do(ctx, "POST", path, v)
	return err
}

// do sends one request as a node and returns the body of a 2xx answer.
func (s *storm) do(ctx context.Context, method, path string, v any) ([]byte, error) {
	return s.send(ctx, s.http, s.pickBase(), method, path, v)
}

func (s *storm) send(ctx context.Context, hc *http.Client, base, method, path string, v any) ([]byte, error) {
	var body io.Reader
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: body: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}
