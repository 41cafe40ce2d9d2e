package iscsi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// unitFake is the recording fake with an image holding some unit files
// (paths without root) and, optionally, a write that fails.
type unitFake struct {
	*fake
	units     map[string]string // path -> unit file
	failWrite string            // a path suffix whose WriteFile fails
}

func (u *unitFake) Exists(p string) bool {
	if _, ok := u.units[u.rel(p)]; ok {
		u.rec("exists %s = true", u.rel(p))
		return true
	}
	return u.fake.Exists(p)
}

func (u *unitFake) ReadFile(p string) ([]byte, error) {
	if text, ok := u.units[u.rel(p)]; ok {
		u.rec("read %s", u.rel(p))
		return []byte(text), nil
	}
	return u.fake.ReadFile(p)
}

func (u *unitFake) WriteFile(p string, data []byte, mode uint32) error {
	if u.failWrite != "" && strings.HasSuffix(p, u.failWrite) {
		return errors.New("read-only file system")
	}
	return u.fake.WriteFile(p, data, mode)
}

// debianUnits are where Debian's open-iscsi and multipath-tools put them,
// with their [Install] sections.
var debianUnits = map[string]string{
	"/sysroot/lib/systemd/system/iscsid.service":     "[Unit]\nDescription=iSCSI initiator daemon (iscsid)\n[Service]\nExecStart=/sbin/iscsid\n\n[Install]\nWantedBy=sysinit.target\n",
	"/sysroot/lib/systemd/system/multipathd.service": "[Service]\nExecStart=/sbin/multipathd -d -s\n[Install]\nWantedBy=sysinit.target\nAlias=multipath-tools.service\n",
}

// filesText renders the recorded calls, then every written file.
func filesText(f *fake) string {
	var b strings.Builder
	b.WriteString(f.text())
	names := make([]string, 0, len(f.files))
	for n := range f.files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "--- %s ---\n%s", n, f.files[n])
	}
	return b.String()
}

func singlePath() *manifest.Manifest {
	m := ocean()
	m.ISCSI.Portals = m.ISCSI.Portals[:1]
	m.ISCSI.MutualCHAP = nil
	m.ISCSI.Settings = map[string]string{"node.session.queue_depth": "64"}
	return m
}

func TestSysrootConfigGolden(t *testing.T) {
	tests := []struct {
		name   string
		m      *manifest.Manifest
		units  map[string]string
		golden string
		logs   []string // wanted in the log
		not    []string // absent from the written files
	}{
		{"multipath", ocean(), debianUnits, "sysroot-multipath.golden", nil, nil},
		{"single path", singlePath(), debianUnits, "sysroot-single.golden", nil, []string{"multipath.conf", "username_in"}},
		{"no systemd", ocean(), nil, "sysroot-nounits.golden",
			[]string{"no iscsid.service in the image: the running sessions stay up unmanaged", "no multipathd.service in the image"},
			[]string{"multi-user.target.wants"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &unitFake{fake: newFake(""), units: tt.units}
			var logs bytes.Buffer
			env := &plan.Env{Manifest: tt.m, Run: f, Sys: f, Log: slog.New(slog.NewTextHandler(&logs, nil))}
			p, err := Plan(tt.m)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			var step *SysrootConfig
			for _, s := range p {
				if s, ok := s.(*SysrootConfig); ok {
					step = s
				}
			}
			if step == nil {
				t.Fatalf("Plan has no iscsi sysroot step:\n%s", p)
			}
			if err := step.Run(context.Background(), env); err != nil {
				t.Fatalf("SysrootConfig.Run = %v\n%s", err, f.text())
			}
			got := filesText(f.fake)
			golden.Check(t, filepath.Join("testdata", tt.golden), "# "+step.String()+"\n"+got)
			for _, l := range tt.logs {
				if !strings.Contains(logs.String(), l) {
					t.Errorf("log lacks %q:\n%s", l, logs.String())
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("%s: %q written:\n%s", tt.name, n, got)
				}
			}
			conf := f.files["/sysroot"+IscsidConf]
			for k, v := range Settings(&step.Config) {
				if !strings.Contains(conf, k+" = "+v+"\n") {
					t.Errorf("sysroot iscsid.conf lacks %s = %s (the login's setting)", k, v)
				}
			}
			if strings.Contains(conf, "auth.password") {
				t.Errorf("sysroot iscsid.conf names a password:\n%s", conf)
			}
			// Re-running does the same again.
			first := f.text()
			f.log = nil
			if err := step.Run(context.Background(), env); err != nil {
				t.Fatalf("second SysrootConfig.Run = %v", err)
			}
			if again := f.text(); again != first {
				t.Errorf("second run differs:\n%s\nwant:\n%s", again, first)
			}
		})
	}
}

func TestSysrootConfigErrors(t *testing.T) {
	for _, file := range []string{InitiatorFile, IscsidConf, MultipathConf} {
		t.Run(file, func(t *testing.T) {
			f := &unitFake{fake: newFake(""), units: debianUnits, failWrite: file}
			m := ocean()
			err := (&SysrootConfig{Config: *m.ISCSI}).Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f})
			if err == nil || !strings.Contains(err.Error(), "/sysroot"+file) {
				t.Errorf("SysrootConfig.Run with %s failing = %v, want an error naming /sysroot%s", file, err, file)
			}
		})
	}
	m := ocean()
	m.ISCSI.InitiatorName = "bad"
	if err := (&SysrootConfig{Config: *m.ISCSI}).Run(context.Background(), &plan.Env{}); err == nil {
		t.Errorf("SysrootConfig.Run with a bad initiator name succeeded")
	}
	s, _ := Commands()["iscsi sysroot"](&manifest.Manifest{Node: "cn1"}, nil)
	if err := s.Run(context.Background(), &plan.Env{}); err == nil {
		t.Errorf("trap iscsi sysroot without iscsi section succeeded")
	}
	if s, _ := Commands()["iscsi sysroot"](ocean(), nil); s.Name() != "iscsi sysroot" {
		t.Errorf(`Commands()["iscsi sysroot"] = %s, want the iscsi sysroot step`, s.Name())
	}
}

// TestNoSecretInFiles runs the whole plan with pushed secrets and checks
// that no secret value is in any written file but the initramfs's node
// records (RAM, 0600), and none at all under /sysroot.
func TestNoSecretInFiles(t *testing.T) {
	t.Cleanup(func() {
		pushed.mu.Lock()
		defer pushed.mu.Unlock()
		pushed.secrets, pushed.config = nil, nil
	})
	values := map[string]string{"cn001-chap": "pushed-chap-0451", "cn001-mutual": "pushed-mutual-0452", "testos-luks": "pushed-luks-0453"}
	for n, v := range values {
		PushSecret(n, []byte(v))
	}
	m := ocean()
	p, err := Plan(m)
	if err != nil {
		t.Fatal(err)
	}
	f := &unitFake{fake: newFake(""), units: debianUnits}
	if err := p.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f}, 0); err != nil {
		t.Fatalf("Run: %v\n%s", err, f.text())
	}
	all := map[string]string{}
	for n, v := range f.secrets {
		all[n+" (fetched)"] = v
	}
	for n, v := range values {
		all[n+" (pushed)"] = v
	}
	sysroot := 0
	for path, data := range f.files {
		if strings.HasPrefix(path, "/sysroot/") {
			sysroot++
			if strings.Contains(data, "auth.password") {
				t.Errorf("%s names a password:\n%s", path, data)
			}
		}
		if strings.HasPrefix(path, NodesDir+"/") {
			continue
		}
		for n, v := range all {
			if path == IscsidConf && strings.HasPrefix(n, "disco-") { // the initramfs's (RAM): discovery CHAP
				continue
			}
			if strings.Contains(data, v) {
				t.Errorf("secret %s is in %s", n, path)
			}
		}
	}
	if sysroot < 3 {
		t.Errorf("%d files written under /sysroot, want at least 3", sysroot)
	}
	// The pushed values were the ones used: the check above saw them.
	rec := f.files[RecordPath(m.ISCSI.Target, m.ISCSI.Portals[0], 1)]
	if !strings.Contains(rec, values["cn001-chap"]) {
		t.Errorf("node record does not carry the pushed CHAP secret (the test would not see a leak)")
	}
	if strings.Contains(f.text(), "pushed-") {
		t.Errorf("a pushed secret appears in the recorded calls")
	}
}
