package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/imageprofile"
	"github.com/disklesstrap/disklesstrap/internal/golden"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// fakeRunner records commands as text; "mmdebstrap" makes a small root
// with the state the scrub step must remove; fail makes a command fail
// with the given output.
type fakeRunner struct {
	cmds []string
	fail map[string]string // command name -> output of its failure
}

func (f *fakeRunner) Run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	root := ""
	for i, a := range args {
		if name == "mmdebstrap" && i == len(args)-2 {
			root = a
		}
	}
	f.cmds = append(f.cmds, filepath.Base(name)+" "+strings.Join(args, " "))
	if out, ok := f.fail[filepath.Base(name)]; ok {
		io.WriteString(log, out)
		return errors.New("exit status 1")
	}
	if name == "mmdebstrap" {
		for p, body := range map[string]string{
			"etc/machine-id":                   "0123456789abcdef\n",
			"etc/ssh/ssh_host_ed25519_key":     "secret\n",
			"var/log/dpkg.log":                 "2026 installed\n",
			"var/lib/systemd/random-seed":      "random\n",
			"usr/share/doc/x/README":           "doc\n",
			"usr/lib/systemd/system/x.service": "[Unit]\n",
			"var/cache/ldconfig/aux-cache":     "cache\n",
			"tmp/.keep":                        "",
		} {
			os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
			os.WriteFile(filepath.Join(root, p), []byte(body), 0o644)
		}
	}
	return nil
}

func testSet(t *testing.T) *imageprofile.Set {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"base.yaml":     "packages: [systemd, openssh-server]\nexclude: [/usr/share/doc/*]\nfiles:\n  - {src: motd, dest: /etc/motd, mode: \"0640\", owner: root:adm}\npostinstall: [10-base.sh]\n",
		"compute.yaml":  "inherits: [base]\npackages: [procps]\npostinstall: [20-compute.sh]\npostscripts: [10-ready.sh]\n",
		"motd":          "hello\n",
		"10-base.sh":    "#!/bin/sh\n",
		"20-compute.sh": "#!/bin/sh\n",
		"10-ready.sh":   "echo ready\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return imageprofile.Open(dir)
}

func TestBuildSteps(t *testing.T) {
	labreq.Check(t, labreq.Tools("mksquashfs"))
	set := testSet(t)
	r, err := set.Resolve("compute")
	if err != nil {
		t.Fatal(err)
	}
	var shas []string
	var first []string
	for i := 0; i < 2; i++ {
		work := filepath.Join(t.TempDir(), "w")
		f := &fakeRunner{}
		res, err := Build(context.Background(), r, Options{Work: work, Cache: "/cache/apt", Runner: f})
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, res.Image.SHA256)
		root := res.Root
		for _, gone := range []string{"etc/ssh/ssh_host_ed25519_key", "var/log/dpkg.log", "var/lib/systemd/random-seed", "var/cache/ldconfig/aux-cache"} {
			if _, err := os.Lstat(filepath.Join(root, gone)); err == nil {
				t.Errorf("%s still in the image", gone)
			}
		}
		if b, _ := os.ReadFile(filepath.Join(root, "etc/machine-id")); len(b) != 0 {
			t.Errorf("machine-id = %q, want empty", b)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "usr/lib/dt/postscripts/10-ready.sh")); string(b) != "echo ready\n" {
			t.Errorf("postscript in the image = %q", b)
		}
		if b, _ := os.ReadFile(filepath.Join(root, "usr/lib/dt/profile.json")); !strings.Contains(string(b), `"postscripts": [`) {
			t.Errorf("profile.json = %s", b)
		}
		if _, err := os.Stat(res.Log); err != nil {
			t.Errorf("build log: %v", err)
		}
		var cmds []string
		for _, c := range f.cmds {
			cmds = append(cmds, strings.ReplaceAll(strings.ReplaceAll(c, work, "WORK"), set.Dir, "PROFILES"))
		}
		if i == 0 {
			first = cmds
		}
	}
	if shas[0] != shas[1] {
		t.Errorf("two builds of the same tree: sha256 %s != %s", shas[0], shas[1])
	}
	golden.Check(t, "testdata/compute.cmds", strings.Join(first, "\n")+"\n")
}

func TestBuildRefusals(t *testing.T) {
	set := testSet(t)
	r, err := set.Resolve("compute")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fail map[string]string
		want string
	}{
		{"missing package", map[string]string{"mmdebstrap": "E: Unable to locate package procps\n"}, "package(s) not in http://deb.debian.org/debian bookworm: procps (from compute:2)"},
		{"mirror down", map[string]string{"mmdebstrap": "E: Failed to fetch http://deb.debian.org/...\n"}, "Failed to fetch"},
		{"postinstall", map[string]string{"20-compute.sh": "widget broken\n"}, "postinstall " + filepath.Join(set.Dir, "20-compute.sh") + " (from compute:3) failed: exit status 1; last lines:\n  widget broken"},
		{"owner", map[string]string{"chroot": "install: invalid group 'adm'\n"}, "files /etc/motd (from base:4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			_, err := Build(context.Background(), r, Options{Work: work, Runner: &fakeRunner{fail: tc.fail}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(work, "compute.squashfs")); err == nil {
				t.Errorf("a failed build left an image")
			}
		})
	}
}

func TestMmdebstrapArgs(t *testing.T) {
	r, err := testSet(t).Resolve("base")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(MmdebstrapArgs(r, "/w/root", ""))
	if !strings.Contains(got, "--include=openssh-server,systemd") || strings.Contains(got, "sync-in") || !strings.HasSuffix(got, "bookworm /w/root http://deb.debian.org/debian]") {
		t.Errorf("args = %s", got)
	}
}
