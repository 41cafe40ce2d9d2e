package iscsilab

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

func requireTgt(t *testing.T) {
	t.Helper()
	labreq.Require(t, labreq.Root(), labreq.Tools("ip", "tgtd", "tgtadm", "ss"))
}

func TestTargetLifecycle(t *testing.T) {
	requireTgt(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := lab.New(t, lab.Options{Bridges: []lab.Bridge{lab.DefaultBridge, lab.SecondBridge}, NoRouterAdverts: true})
	if err != nil {
		t.Fatalf("lab.New: %v", err)
	}
	backing := filepath.Join(t.TempDir(), "disk.raw")
	if err := os.WriteFile(backing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(backing, 64<<20); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tg, err := Start(ctx, t, l, Options{
		IQN:        "iqn.2026-11.lab.dt:testos",
		Backing:    backing,
		Initiators: []string{"iqn.2026-11.lab.dt:cn001"},
		CHAP:       Account{User: "node_user", Password: "node-secret-01"},
		MutualCHAP: Account{User: "node_mutual", Password: "target-secret-1"},
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Logf("TIMING tgtd up and configured: %s", time.Since(start).Round(time.Millisecond))

	out, err := tg.Show(ctx)
	if err != nil {
		t.Fatalf("Show: %v", err)
	}
	targets, err := ParseShow(out)
	if err != nil {
		t.Fatalf("ParseShow: %v\n%s", err, out)
	}
	luns := targets["iqn.2026-11.lab.dt:testos"]
	if luns == nil || luns[1] != backing {
		t.Errorf("show: target LUNs = %v, want LUN 1 backed by %s\n%s", luns, backing, out)
	}
	for _, want := range []string{"iqn.2026-11.lab.dt:cn001", "node_user", "node_mutual (outgoing)", "dttestos"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
	for _, secret := range []string{"node-secret-01", "target-secret-1"} {
		if strings.Contains(out, secret) {
			t.Errorf("show output reveals a CHAP secret")
		}
	}
	ss, err := l.Run(ctx, "ss", "-Hltn")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range tg.Portals() {
		if !strings.Contains(ss, p.String()) {
			t.Errorf("no listener on portal %s in the namespace:\n%s", p, ss)
		}
	}
	if len(tg.Portals()) != 2 {
		t.Errorf("Portals() = %v, want one per bridge", tg.Portals())
	}
	if err := tg.DeletePortal(ctx, tg.Portals()[1]); err != nil {
		t.Errorf("DeletePortal: %v", err)
	}
	if ss, _ := l.Run(ctx, "ss", "-Hltn"); strings.Contains(ss, tg.Portals()[1].String()) {
		t.Errorf("portal %s still listening after DeletePortal:\n%s", tg.Portals()[1], ss)
	}

	pid := tg.PID()
	start = time.Now()
	if err := tg.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("TIMING tgtd clean shutdown: %s", time.Since(start).Round(time.Millisecond))
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("tgtd pid %d still alive after Stop", pid)
	}
	if _, err := tg.adm(ctx, "--op", "show", "--mode", "sys"); err == nil {
		t.Errorf("tgtadm still reaches control port %d after Stop", tg.ControlPort())
	}
	if err := tg.Stop(ctx); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	backing := filepath.Join(t.TempDir(), "d")
	os.WriteFile(backing, []byte("x"), 0o600)
	good := Options{IQN: "iqn.2026-11.lab.dt:a", Backing: backing, Initiators: []string{"iqn.x:y"},
		Portals: nil}
	tests := []struct {
		name    string
		mod     func(o *Options)
		wantErr string
	}{
		{"ok", func(o *Options) {}, ""},
		{"bad iqn", func(o *Options) { o.IQN = "target" }, "want iqn."},
		{"no backing", func(o *Options) { o.Backing = backing + ".missing" }, "backing file"},
		{"no acl", func(o *Options) { o.Initiators = nil }, "no initiator names"},
		{"short secret", func(o *Options) { o.CHAP = Account{"u", "short"} }, "12..16"},
		{"mutual alone", func(o *Options) { o.MutualCHAP = Account{"u", "0123456789ab"} }, "mutual CHAP needs CHAP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mod(&o)
			o.Portals = append(o.Portals, netip.AddrPortFrom(lab.DefaultBridge.Addr.Addr(), Port)) // no lab needed
			err := o.validate(nil)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("validate(%s) = %v, want %q", tt.name, err, tt.wantErr)
			}
			if err == nil && o.Serial != "dta" {
				t.Errorf("validate: Serial = %q, want dta", o.Serial)
			}
		})
	}
}
