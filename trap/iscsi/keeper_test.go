package iscsi

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

func (f *fake) StartKeeper(root string, maps []string) error {
	f.rec("keeper %s %s", f.rel(root), strings.Join(maps, " "))
	return nil
}

// TestKeeperHandover: an image with iscsid.service gets the sessions from
// a stopped initramfs iscsid (iscsiadm -k 0); one without keeps it; pathd
// starts with multipath only.
func TestKeeperHandover(t *testing.T) {
	single := ocean()
	single.ISCSI.Portals = single.ISCSI.Portals[:1]
	for _, tt := range []struct {
		name  string
		m     *manifest.Manifest
		units map[string]string
		want  []string
		not   []string
	}{
		{"systemd image, multipath", ocean(), debianUnits, []string{"run iscsiadm -k 0", "keeper /sysroot mpatha"}, nil},
		{"minimal image, multipath", ocean(), nil, []string{"keeper /sysroot mpatha"}, []string{"iscsiadm -k"}},
		{"systemd image, single path", single, debianUnits, []string{"run iscsiadm -k 0"}, []string{"keeper"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &unitFake{fake: newFake(""), units: tt.units}
			s := &Keeper{Config: *tt.m.ISCSI}
			if err := s.Run(context.Background(), &plan.Env{Manifest: tt.m, Run: f, Sys: f}); err != nil {
				t.Fatalf("Keeper.Run: %v", err)
			}
			got := f.text()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("Keeper.Run did not %q:\n%s", w, got)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("Keeper.Run did %q:\n%s", n, got)
				}
			}
		})
	}
}

// TestKeeperStopFails: a failed `iscsiadm -k 0` (no iscsid) does not keep
// the node from booting: the sessions are up either way.
func TestKeeperStopFails(t *testing.T) {
	m := ocean()
	f := &unitFake{fake: newFake(""), units: debianUnits}
	f.failRun["iscsiadm -k 0"] = errors.New("exit status 20")
	if err := (&Keeper{Config: *m.ISCSI}).Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f}); err != nil {
		t.Errorf("Keeper.Run with iscsiadm -k failing = %v, want nil (best effort)", err)
	}
	if !strings.Contains(f.text(), "keeper /sysroot mpatha") {
		t.Errorf("Keeper.Run did not start pathd after the failed stop:\n%s", f.text())
	}
}
