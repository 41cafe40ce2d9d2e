package iscsi

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// ocean is the seed's setup: two portals, CHAP + mutual CHAP, LUKS,
// partition 1 = /, system/var = /var.
func ocean() *manifest.Manifest {
	return &manifest.Manifest{
		Version: 1, Node: "cn001", Hostname: "cn001", Mode: manifest.ModeISCSI, Server: "http://198.18.0.1:8080",
		Network: &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24"},
		ISCSI: &manifest.ISCSI{
			InitiatorName:       "iqn.2026-11.lab.dt:cn001",
			Target:              "iqn.2026-11.lab.dt:testos",
			Portals:             []string{"198.18.0.1:3260", "198.19.0.1"},
			CHAP:                &manifest.CHAP{User: "node_user", Secret: manifest.SecretRef{Name: "cn001-chap"}},
			MutualCHAP:          &manifest.CHAP{User: "node_mutual", Secret: manifest.SecretRef{Name: "cn001-mutual"}},
			DiscoveryCHAP:       &manifest.CHAP{User: "disco_user", Secret: manifest.SecretRef{Name: "disco-chap"}},
			DiscoveryMutualCHAP: &manifest.CHAP{User: "disco_mutual", Secret: manifest.SecretRef{Name: "disco-mutual"}},
			LUKS:                &manifest.LUKS{Key: manifest.SecretRef{Name: "testos-luks"}},
		},
	}
}

func TestPlanGolden(t *testing.T) {
	p, err := Plan(ocean())
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", "plan.golden"), p.String())
}

func TestDryRunGolden(t *testing.T) {
	root := t.TempDir()
	m := ocean()
	p, err := Plan(m)
	if err != nil {
		t.Fatal(err)
	}
	SetRoot(p, root)
	f := newFake(root)
	env := &plan.Env{Manifest: m, Run: f, Sys: f, DryRun: true}
	if err := p.Run(context.Background(), env, 0); err != nil {
		t.Fatalf("Run: %v\n%s", err, f.text())
	}
	got := f.text()
	golden.Check(t, filepath.Join("testdata", "dryrun-ocean.golden"), got)
	for _, s := range f.secrets {
		if strings.Contains(got, s) {
			t.Errorf("a secret appears in the recorded calls (logs/cmdlines)")
		}
		for _, r := range f.runs {
			if strings.Contains(strings.Join(r, " "), s) {
				t.Errorf("a secret is on the command line of %s", r[0])
			}
		}
	}
	rec := f.files[RecordPath("iqn.2026-11.lab.dt:testos", "198.19.0.1", 1)]
	for _, want := range []string{"node.session.auth.password = chap-secret-123", "node.session.auth.password_in = mutual-secret-1",
		"node.conn[0].address = 198.19.0.1", "node.conn[0].port = 3260", "node.session.timeo.replacement_timeout = 15"} {
		if !strings.Contains(rec, want) {
			t.Errorf("node record lacks %q:\n%s", want, rec)
		}
	}
	// The initramfs's iscsid.conf: discovery CHAP (iscsiadm's sendtargets
	// discovery reads it there), no session secret.
	conf := f.files[IscsidConf]
	for _, want := range []string{"discovery.sendtargets.auth.authmethod = CHAP\n", "discovery.sendtargets.auth.username = disco_user\n",
		"discovery.sendtargets.auth.password = disco-secret-1\n", "discovery.sendtargets.auth.username_in = disco_mutual\n",
		"discovery.sendtargets.auth.password_in = disco-mutual-2\n", "node.session.timeo.replacement_timeout = 15\n"} {
		if !strings.Contains(conf, want) {
			t.Errorf("initramfs iscsid.conf lacks %q:\n%s", want, conf)
		}
	}
	if strings.Contains(conf, "node.session.auth.password") {
		t.Errorf("initramfs iscsid.conf holds a session password")
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name    string
		portals []string
		fail    []string
		wantErr string
	}{
		{"one of two down", []string{"198.18.0.1", "198.19.0.1"}, []string{"198.19.0.1"}, ""},
		{"both down", []string{"198.18.0.1", "198.19.0.1"}, []string{"198.18.0.1", "198.19.0.1"}, "iscsi login to"},
		{"single path down", []string{"198.18.0.1"}, []string{"198.18.0.1"}, "iscsi login to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := ocean()
			m.ISCSI.Portals = tt.portals
			f := newFake("")
			for _, p := range tt.fail {
				f.failRun["-p "+p] = errors.New("exit status 8")
			}
			s := &Login{Config: *m.ISCSI, Root: t.TempDir()}
			err := s.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f})
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Login.Run(%s) = %v, want %q", tt.name, err, tt.wantErr)
			}
		})
	}
	m := ocean()
	resetPushed(t) // the runs above kept the secrets they pulled
	f := newFake("")
	delete(f.secrets, "cn001-mutual")
	err := (&Login{Config: *m.ISCSI, Root: t.TempDir()}).Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f})
	if err == nil || !strings.Contains(err.Error(), "mutual CHAP secret cn001-mutual") {
		t.Errorf("Login with a missing secret = %v, want a mutual CHAP secret error", err)
	}
}

func TestMapName(t *testing.T) {
	c := ocean().ISCSI
	tests := []struct{ dev, want, wantErr string }{
		{"part:1", "luks_root1", ""},
		{"lv:system/var", "system-var", ""},
		{"lv:my-vg/lv-1", "my--vg-lv--1", ""},
		{"part:0", "", "bad partition"},
		{"lv:system", "", "want lv:VG/LV"},
		{"/dev/sda", "", "want part:N"},
	}
	for _, tt := range tests {
		got, err := mapName(c, tt.dev)
		if got != tt.want || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("mapName(%q) = %q, %v, want %q (%s)", tt.dev, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestPlanErrors(t *testing.T) {
	m := ocean()
	m.ISCSI = nil
	if _, err := Plan(m); err == nil || !strings.Contains(err.Error(), "needs an iscsi section") {
		t.Errorf("Plan(no iscsi) = %v", err)
	}
	m = ocean()
	m.ISCSI.MutualCHAP.Secret.Name = ""
	if _, err := Plan(m); err == nil {
		t.Errorf("Plan(mutual CHAP without secret) succeeded")
	}
	m = ocean()
	m.ISCSI.Settings = map[string]string{"node.session.auth.password": "x"}
	if _, err := Plan(m); err == nil {
		t.Errorf("Plan(secret in settings) succeeded")
	}
	s, _ := Commands()["luks open"](&manifest.Manifest{Node: "cn1"}, nil)
	if err := s.Run(context.Background(), &plan.Env{}); err == nil {
		t.Errorf("trap luks open without iscsi section succeeded")
	}
}

func FuzzParsePortal(f *testing.F) {
	f.Add("198.18.0.1:3260")
	f.Add("[fe80::1]:3260")
	f.Add("x")
	f.Fuzz(func(t *testing.T, s string) { _, _ = manifest.ParsePortal(s) })
}
