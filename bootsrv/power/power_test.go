package power

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeBMC records what would be sent and tracks concurrency.
type fakeBMC struct {
	mu       sync.Mutex
	calls    []string
	running  atomic.Int32
	maxSeen  atomic.Int32
	slow     map[string]bool // never answers (until ctx ends)
	wrongPwd map[string]bool
}

func (f *fakeBMC) Do(ctx context.Context, t Target, a Action) (string, error) {
	n := f.running.Add(1)
	defer f.running.Add(-1)
	for {
		m := f.maxSeen.Load()
		if n <= m || f.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	f.mu.Lock()
	f.calls = append(f.calls, fmt.Sprintf("%s %s@%s %s", t.Node, t.User, t.Addr, a))
	f.mu.Unlock()
	time.Sleep(5 * time.Millisecond)
	if f.slow[t.Node] {
		<-ctx.Done()
		time.Sleep(time.Hour) // ignores its context: Run must not wait
	}
	if f.wrongPwd[t.Node] {
		return "", errors.New("RMCP+ session as admin: authentication failed")
	}
	if a == Status {
		return "on", nil
	}
	return string(a), nil
}

func targets(n int) []Target {
	out := make([]Target, n)
	for i := range out {
		out[i] = Target{Node: fmt.Sprintf("cn%03d", i+1), User: "admin", Password: []byte("pw"),
			Addr: netip.AddrPortFrom(netip.AddrFrom4([4]byte{198, 18, 1, byte(i + 1)}), 623)}
	}
	return out
}

func TestRun(t *testing.T) {
	tests := []struct {
		name     string
		targets  func() []Target
		fake     *fakeBMC
		opts     Options
		want     []string // node: state or node: error
		maxPar   int32
		maxTotal time.Duration
	}{
		{name: "all on", targets: func() []Target { return targets(3) }, fake: &fakeBMC{},
			want: []string{"cn001: on", "cn002: on", "cn003: on"}},
		{name: "parallel bound", targets: func() []Target { return targets(40) }, fake: &fakeBMC{}, opts: Options{Parallel: 4},
			maxPar: 4},
		{name: "wrong password fails one node only", targets: func() []Target { return targets(3) },
			fake: &fakeBMC{wrongPwd: map[string]bool{"cn002": true}},
			want: []string{"cn001: on", "cn002: BMC 198.18.1.2:623: RMCP+ session as admin: authentication failed", "cn003: on"}},
		{name: "timeout per node", targets: func() []Target { return targets(2) },
			fake: &fakeBMC{slow: map[string]bool{"cn001": true}}, opts: Options{Timeout: 50 * time.Millisecond},
			want:     []string{"cn001: BMC 198.18.1.1:623: status: context deadline exceeded", "cn002: on"},
			maxTotal: 2 * time.Second},
		{name: "no BMC and a problem", targets: func() []Target {
			ts := targets(3)
			ts[0].Addr = netip.AddrPort{}
			ts[1].Problem = `bmc_password: secret "bmc" is not stored`
			return ts
		}, fake: &fakeBMC{},
			want: []string{"cn001: " + ErrNoBMC.Error(), `cn002: bmc_password: secret "bmc" is not stored`, "cn003: on"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := Run(context.Background(), tc.fake, tc.targets(), Status, tc.opts)
			if tc.maxTotal > 0 && time.Since(start) > tc.maxTotal {
				t.Errorf("Run took %v, want < %v", time.Since(start), tc.maxTotal)
			}
			var got []string
			for _, r := range res {
				if r.Err != nil {
					got = append(got, r.Node+": "+r.Err.Error())
				} else {
					got = append(got, r.Node+": "+r.State)
				}
			}
			if tc.want != nil && !slices.Equal(got, tc.want) {
				t.Errorf("results:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if tc.maxPar > 0 && tc.fake.maxSeen.Load() > tc.maxPar {
				t.Errorf("%d BMCs at once, want at most %d", tc.fake.maxSeen.Load(), tc.maxPar)
			}
			if tc.maxPar > 0 && len(tc.fake.calls) != 40 {
				t.Errorf("%d calls, want 40", len(tc.fake.calls))
			}
			for _, c := range tc.fake.calls {
				if strings.Contains(c, "pw") {
					t.Errorf("call record holds the password: %s", c)
				}
			}
		})
	}
}

func TestParseAction(t *testing.T) {
	for _, s := range []string{"status", "on", "off", "cycle", "reset", "boot"} {
		if a, err := ParseAction(s); err != nil || string(a) != s {
			t.Errorf("ParseAction(%q) = %q, %v", s, a, err)
		}
	}
	if _, err := ParseAction("softoff"); err == nil || !strings.Contains(err.Error(), `"softoff"`) {
		t.Errorf("ParseAction(softoff) = %v", err)
	}
}

func TestSessionError(t *testing.T) {
	err := sessionError("admin", errors.New("connect20 failed\ncmd: rakp1 failed, err: RAKP2 authentication code mismatch: RAKP authentication failed"))
	if got := err.Error(); got != "RMCP+ session as admin: authentication failed (wrong bmc_user or bmc_password)" {
		t.Errorf("sessionError = %q", got)
	}
	err = sessionError("admin", errors.New("first line\nsecond"))
	if got := err.Error(); got != "RMCP+ session as admin: first line" {
		t.Errorf("sessionError = %q", got)
	}
}
