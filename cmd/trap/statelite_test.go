package main

import (
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

func TestRegisterStatelite(t *testing.T) {
	r := &plan.Registry{}
	registerStatelite(r)
	m := &manifest.Manifest{Node: "cn1", Mode: manifest.ModeStatelite, Server: "http://198.18.0.1:8080",
		Statelite: &manifest.Statelite{Root: "198.18.0.1:/roots/os", Files: []manifest.LiteFile{{Path: "/etc/motd", Option: "tmpfs"}}}}
	p, err := r.Build(m)
	if err != nil || len(p) == 0 || p[0].Name() != "statelite root" {
		t.Fatalf("Build(statelite) = %v, %v; want a plan starting with statelite root", p, err)
	}
	for _, words := range [][]string{{"statelite", "root"}, {"statelite", "tmpfs"}, {"statelite", "litetree"}, {"statelite", "store"}, {"statelite", "files"}, {"statelite", "readonly"}} {
		name, c, _, ok := r.Lookup(words)
		if !ok || name != strings.Join(words, " ") {
			t.Errorf("Lookup(%q) = %q, %v", words, name, ok)
			continue
		}
		if s, err := c(m, nil); err != nil || s.Name() != name {
			t.Errorf("command %q = %v, %v", name, s, err)
		}
	}
	if _, err := r.Build(&manifest.Manifest{Node: "cn1", Mode: manifest.ModeStatelite}); err == nil || !strings.Contains(err.Error(), "needs a statelite section") {
		t.Errorf("Build(statelite without section) = %v", err)
	}
}
