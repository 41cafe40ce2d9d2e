package main

import (
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

func TestRegisterISCSI(t *testing.T) {
	r := &plan.Registry{}
	registerISCSI(r)
	m := &manifest.Manifest{Node: "cn1", Mode: manifest.ModeISCSI, ISCSI: &manifest.ISCSI{
		InitiatorName: "iqn.2026-11.lab.dt:cn1", Target: "iqn.2026-11.lab.dt:os", Portals: []string{"198.18.0.1"}}}
	p, err := r.Build(m)
	if err != nil || len(p) == 0 || p[0].Name() != "iscsi login" {
		t.Fatalf("Build(iscsi) = %v, %v; want a plan starting with iscsi login", p, err)
	}
	for _, words := range [][]string{{"iscsi", "login"}, {"multipath"}, {"luks", "open"}, {"lvm"}, {"lower"}} {
		name, c, _, ok := r.Lookup(words)
		if !ok || name != strings.Join(words, " ") {
			t.Errorf("Lookup(%q) = %q, %v", words, name, ok)
			continue
		}
		if s, err := c(m, nil); err != nil || s.Name() != name {
			t.Errorf("command %q = %v, %v", name, s, err)
		}
	}
	if _, err := r.Build(&manifest.Manifest{Node: "cn1", Mode: manifest.ModeISCSI}); err == nil || !strings.Contains(err.Error(), "needs an iscsi section") {
		t.Errorf("Build(iscsi without section) = %v", err)
	}
}
