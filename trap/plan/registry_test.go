package plan

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

type nopStep struct{ name, args string }

func (s nopStep) Name() string                    { return s.name }
func (s nopStep) String() string                  { return s.args }
func (s nopStep) Run(context.Context, *Env) error { return nil }

func TestRegistryBuild(t *testing.T) {
	var r Registry
	r.RegisterMode(manifest.ModeRAMRoot, func(m *manifest.Manifest) (Plan, error) {
		return Plan{nopStep{"zram", "size=1G"}}, nil
	})
	r.RegisterMode(manifest.ModeInstall, func(m *manifest.Manifest) (Plan, error) { return nil, errors.New("no disk") })
	tests := []struct {
		mode, cont manifest.Mode
		want       string
		wantErr    string
	}{
		{manifest.ModeRAMRoot, "", " 1. zram           size=1G\n", ""},
		{manifest.ModeISCSI, "", "", "mode iscsi: not implemented in this agent"},
		{manifest.ModeTrap, "", "", "mode trap: nothing to continue to (the node's mode is trap; give it a provisioning mode with `trapctl mode set cn1 MODE`)"},
		{manifest.ModeTrap, manifest.ModeRAMRoot, " 1. zram           size=1G\n", ""},
		{manifest.ModeService, manifest.ModeISCSI, "", "mode iscsi: not implemented in this agent"},
		{manifest.ModeInstall, "", "", "mode install: no disk"},
		{manifest.ModeRAMRoot, "", "", "mode ramroot: no image: node cn1's image attribute is not set"},
	}
	for _, tt := range tests {
		t.Run(string(tt.mode)+"-"+string(tt.cont), func(t *testing.T) {
			m := &manifest.Manifest{Node: "cn1", Mode: tt.mode, Continue: tt.cont}
			if strings.Contains(tt.wantErr, "no image") {
				m.Problems = []string{tt.wantErr}
			}
			p, err := r.Build(m)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Errorf("Build(%s) error = %v, want %q", tt.mode, err, tt.wantErr)
				}
				return
			}
			if err != nil || p.String() != tt.want {
				t.Errorf("Build(%s) = %q, %v, want %q", tt.mode, p.String(), err, tt.want)
			}
		})
	}
	if _, err := r.Build(nil); err == nil {
		t.Errorf("Build(nil) error = nil, want error")
	}
	if got := r.Modes(); !reflect.DeepEqual(got, []manifest.Mode{manifest.ModeInstall, manifest.ModeRAMRoot}) {
		t.Errorf("Modes() = %v", got)
	}
}

func TestRegistryLookup(t *testing.T) {
	var r Registry
	mk := func(name string) Command {
		return func(m *manifest.Manifest, args []string) (Step, error) {
			return nopStep{name, strings.Join(args, ",")}, nil
		}
	}
	r.RegisterCommand("iscsi", mk("iscsi"))
	r.RegisterCommand("iscsi  login", mk("iscsi login"))
	r.RegisterCommand("zram", mk("zram"))
	tests := []struct {
		args     []string
		name     string
		rest     []string
		notFound bool
	}{
		{[]string{"iscsi", "login", "portal1"}, "iscsi login", []string{"portal1"}, false},
		{[]string{"iscsi", "logout"}, "iscsi", []string{"logout"}, false},
		{[]string{"zram"}, "zram", []string{}, false},
		{[]string{"luks", "open"}, "", nil, true},
		{nil, "", nil, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			name, c, rest, ok := r.Lookup(tt.args)
			if ok == tt.notFound {
				t.Fatalf("Lookup(%q) ok = %v, want %v", tt.args, ok, !tt.notFound)
			}
			if !ok {
				return
			}
			if name != tt.name || !reflect.DeepEqual(rest, tt.rest) {
				t.Errorf("Lookup(%q) = %q %q, want %q %q", tt.args, name, rest, tt.name, tt.rest)
			}
			s, err := c(nil, rest)
			if err != nil || s.Name() != tt.name {
				t.Errorf("command %q built %v, %v", name, s, err)
			}
		})
	}
	if got := r.Commands(); !reflect.DeepEqual(got, []string{"iscsi", "iscsi login", "zram"}) {
		t.Errorf("Commands() = %q", got)
	}
}
