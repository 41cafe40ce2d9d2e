package statelite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

func testManifest(root string) *manifest.Manifest {
	return &manifest.Manifest{
		Version: 1, Node: "cn1", Hostname: "cn1", Mode: manifest.ModeStatelite, Server: "http://198.18.0.1:8080",
		Network: &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24"},
		Image:   &manifest.Image{Name: "compute", SHA256: strings.Repeat("ab", 32), Size: 1 << 20, Format: manifest.FormatSquashfs},
		Statelite: &manifest.Statelite{
			Root: root,
			Files: []manifest.LiteFile{
				{Path: "/etc/con.conf", Option: manifest.LiteCon},
				{Path: "/etc/motd", Option: manifest.LiteTmpfs},
				{Path: "/etc/ro.conf", Option: manifest.LiteRO},
				{Path: "/etc/second.conf", Option: manifest.LiteTmpfs},
				{Path: "/opt/licence", Option: manifest.LitePersistentCon},
				{Path: "/var/lib/keep/", Option: manifest.LitePersistent},
				{Path: "/var/log/", Option: manifest.LiteTmpfs},
			},
			Tree:  []string{"198.18.0.1:/lite1", "198.18.0.1:/lite2"},
			Store: "198.18.0.1:/state",
		},
	}
}

// TestPlanGolden: the plan as `trap plan` prints it, registry and NFS root.
func TestPlanGolden(t *testing.T) {
	for _, tc := range []struct{ name, root string }{{"registry", ""}, {"nfsroot", "198.18.0.1:/roots/compute"}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Plan(testManifest(tc.root))
			if err != nil {
				t.Fatal(err)
			}
			SetRoot(p, "/nonexistent-root")
			golden.Check(t, "testdata/plan-"+tc.name+".golden", p.String())
		})
	}
}

// write makes files under root.
func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, text := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(b)
}

// TestRunTwoBoots runs the plan (NFS root) twice over the same store: the
// mounts and links are recorded, the materialized files checked, and
// the persistent file written between the boots is kept while tmpfs
// files start again from their origin.
func TestRunTwoBoots(t *testing.T) {
	store := t.TempDir()
	boot := func(t *testing.T) (string, *fake) {
		root := t.TempDir()
		write(t, root, map[string]string{
			"run/dt/lower/.default/etc/motd":           "IMAGE-MOTD\n",
			"run/dt/lower/.default/etc/con.conf":       "IMAGE-CON\n",
			"run/dt/lower/etc/second.conf":             "IMAGE-SECOND\n", // not prepared by image lite
			"run/dt/lower/.default/etc/ro.conf":        "IMAGE-RO\n",
			"run/dt/lower/var/lib/keep/seed":           "IMAGE-KEEP\n",
			"run/dt/lower/var/log/":                    "",
			"run/dt/lower/sbin/init":                   "#!/bin/sh\n",
			"run/dt/lower/bin/sh":                      "ELF",
			"sysroot/.statelite/mnt/1/etc/con.conf":    "LITE1-CON\n",
			"sysroot/.statelite/mnt/1/etc/ro.conf":     "LITE1-RO\n",
			"sysroot/.statelite/mnt/2/etc/con.conf":    "LITE2-CON\n",
			"sysroot/.statelite/mnt/2/etc/second.conf": "LITE2-SECOND\n",
			"sysroot/.statelite/mnt/2/opt/licence":     "LITE2-LICENCE\n",
		})
		if err := os.Symlink("/.statelite/tmpfs/etc/motd", filepath.Join(root, "run/dt/lower/etc/motd")); err != nil {
			t.Fatal(err)
		}
		// The store is "mounted" at /.statelite/persistent: a link to the
		// shared folder stands in for the NFS mount.
		if err := os.Symlink(store, filepath.Join(root, "sysroot/.statelite/persistent")); err != nil {
			t.Fatal(err)
		}
		// The overlay is not real: the new root starts as a copy of the lower.
		if err := copyTree(filepath.Join(root, "run/dt/lower"), filepath.Join(root, "sysroot")); err != nil {
			t.Fatal(err)
		}
		f := &fake{root: root}
		p, err := Plan(testManifest("198.18.0.1:/roots/compute"))
		if err != nil {
			t.Fatal(err)
		}
		SetRoot(p, root)
		for _, s := range p {
			switch s := s.(type) {
			case *Root:
				s.Dial = func(context.Context, string) error { return nil }
			case *Litetree:
				s.Dial = func(context.Context, string) error { return nil }
			case *Store:
				s.Dial = func(context.Context, string) error { return nil }
			}
		}
		env := &plan.Env{Manifest: testManifest(""), Run: f, Sys: f}
		if err := p.Run(context.Background(), env, 0); err != nil {
			t.Fatalf("plan: %v\n%s", err, f.text())
		}
		return root, f
	}
	root, f := boot(t)
	golden.Check(t, "testdata/run-first-boot.golden", f.text()+"--- statelite.log\n"+read(t, root+"/sysroot/.statelite/statelite.log"))
	lite := root + "/sysroot/.statelite/tmpfs"
	checks := map[string]string{
		lite + "/etc/con.conf":           "LITE1-CON\nLITE2-CON\n",
		lite + "/etc/motd":               "IMAGE-MOTD\n",
		lite + "/etc/second.conf":        "LITE2-SECOND\n",
		store + "/cn1/opt/licence":       "LITE2-LICENCE\n",
		root + "/sysroot/etc/hostname":   "cn1\n",
		store + "/cn1/var/lib/keep/seed": "IMAGE-KEEP\n",
	}
	for p, want := range checks {
		if got := read(t, p); got != want {
			t.Errorf("%s = %q, want %q", strings.TrimPrefix(p, root), got, want)
		}
	}
	for _, p := range []string{"/etc/motd", "/etc/second.conf", "/var/log", "/var/lib/keep"} {
		if l, err := os.Readlink(root + "/sysroot" + p); err != nil || l != "/.statelite/tmpfs"+p {
			t.Errorf("/sysroot%s -> %q, %v; want /.statelite/tmpfs%s", p, l, err, p)
		}
	}
	if l, _ := os.Readlink(lite + "/var/lib/keep"); l != "/.statelite/persistent/cn1/var/lib/keep" {
		t.Errorf("/.statelite/tmpfs/var/lib/keep -> %q", l)
	}
	// The node writes its persistent and tmpfs files (the persistent
	// links are absolute, for the booted node: the test writes the
	// store directly); the next boot keeps the first and resets the
	// second.
	write(t, store, map[string]string{"cn1/var/lib/keep/mine": "MINE\n"})
	os.WriteFile(lite+"/etc/motd", []byte("changed\n"), 0o644)
	root2, _ := boot(t)
	if got := read(t, store+"/cn1/var/lib/keep/mine"); got != "MINE\n" {
		t.Errorf("second boot: persistent file = %q", got)
	}
	if got := read(t, root2+"/sysroot/.statelite/tmpfs/etc/motd"); got != "IMAGE-MOTD\n" {
		t.Errorf("second boot: tmpfs file = %q", got)
	}
	if log := read(t, root2+"/sysroot/.statelite/statelite.log"); !strings.Contains(log, "/var/lib/keep/ persistent store 198.18.0.1:/state kept") {
		t.Errorf("second boot log:\n%s", log)
	}
}

// TestFolderMismatch: a rule without the trailing / where the image has a
// folder fails naming the rule.
func TestFolderMismatch(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"run/dt/lower/etc/ssh/": "", "sysroot/.statelite/tmpfs/": ""})
	s := &Files{Rules: []manifest.LiteFile{{Path: "/etc/ssh", Option: manifest.LiteTmpfs}}, Root: root, Node: "cn1"}
	f := &fake{root: root}
	err := s.Run(context.Background(), &plan.Env{Sys: f, Run: f})
	if err == nil || !strings.Contains(err.Error(), "litefile /etc/ssh (tmpfs): image has a folder at /etc/ssh: write the rule as /etc/ssh/") {
		t.Fatalf("err = %v", err)
	}
}

// TestServerDown: a source whose server does not answer fails the
// litetree step naming the export, before any mount.
func TestServerDown(t *testing.T) {
	root := t.TempDir()
	f := &fake{root: root}
	s := &Litetree{Sources: []string{"198.18.0.1:/lite1"}, Root: root,
		Dial: func(ctx context.Context, addr string) error { return errors.New("connect: connection refused") }}
	err := s.Run(context.Background(), &plan.Env{Sys: f, Run: f})
	want := "litetree source 1: export 198.18.0.1:/lite1: NFS server 198.18.0.1:2049 is down or unreachable: connect: connection refused"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v\nwant %s", err, want)
	}
	if strings.Contains(f.text(), "mount") {
		t.Errorf("mounted anyway:\n%s", f.text())
	}
}

func TestPrepareErrors(t *testing.T) {
	m := testManifest("")
	m.Statelite = nil
	if _, err := Plan(m); err == nil || !strings.Contains(err.Error(), "needs a statelite section") {
		t.Errorf("no section: %v", err)
	}
	m = testManifest("")
	m.Image.Format = manifest.FormatTar
	if _, err := Plan(m); err == nil || !strings.Contains(err.Error(), "a statelite root is a squashfs image") {
		t.Errorf("tar image: %v", err)
	}
	m = testManifest("")
	m.Statelite.Store = ""
	if _, err := Plan(m); err == nil || !strings.Contains(err.Error(), "no persistent store") {
		t.Errorf("persistent without store: %v", err)
	}
}

func TestResolveIn(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{".statelite/tmpfs/etc/": "", "etc/": ""})
	os.Symlink("/.statelite/tmpfs/etc/hostname", root+"/etc/hostname")
	os.Symlink("../../x", root+"/etc/up")
	for _, tc := range []struct {
		in, want string
		follow   bool
	}{
		{"/etc/hostname", "/.statelite/tmpfs/etc/hostname", true},
		{"/etc/hostname", "/etc/hostname", false},
		{"/etc/up", "/x", true},
		{"/etc/dt/network.env", "/etc/dt/network.env", true},
	} {
		got, err := resolveIn(root, root+tc.in, tc.follow)
		if err != nil || got != root+tc.want {
			t.Errorf("resolveIn(%s, %v) = %q, %v; want %s", tc.in, tc.follow, strings.TrimPrefix(got, root), err, tc.want)
		}
	}
}
