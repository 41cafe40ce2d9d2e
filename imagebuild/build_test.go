package imagebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	f.cmds = append(f.cmds, filepath.Base(name)+" "+strings.Join(args, " "))
	if out, ok := f.fail[filepath.Base(name)]; ok && !(len(args) == 1 && args[0] == "--version") {
		io.WriteString(log, out)
		return errors.New("exit status 1")
	}
	switch {
	case name == "mmdebstrap" && len(args) == 1:
		io.WriteString(log, "mmdebstrap 1.3.5\n")
	case name == "cp":
		if out, err := exec.CommandContext(ctx, "cp", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("cp: %v: %s", err, out)
		}
	case name == "unshare":
		// aptScript ROOT CACHE PKG...: mark the packages installed.
		root := args[7]
		for _, p := range args[9:] {
			os.MkdirAll(filepath.Join(root, "var/lib/fake-apt"), 0o755)
			os.WriteFile(filepath.Join(root, "var/lib/fake-apt", p), nil, 0o644)
			for _, f := range map[string][]string{
				"linux-image-amd64":  {"boot/vmlinuz-6.1.0-9-amd64", "boot/initrd.img-6.1.0-9-amd64"},
				"grub2-common":       {"usr/sbin/grub-install", "usr/sbin/grub-mkconfig"},
				"grub-pc-bin":        {"usr/lib/grub/i386-pc/normal.mod"},
				"grub-efi-amd64-bin": {"usr/lib/grub/x86_64-efi/normal.mod"},
			}[p] {
				os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755)
				os.WriteFile(filepath.Join(root, f), nil, 0o644)
			}
		}
	case name == "mmdebstrap":
		root := args[len(args)-2]
		for p, body := range map[string]string{
			"etc/machine-id":                   "0123456789abcdef\n",
			"etc/ssh/ssh_host_ed25519_key":     "secret\n",
			"var/log/dpkg.log":                 "2026 installed\n",
			"var/lib/systemd/random-seed":      "random\n",
			"usr/share/doc/x/README":           "doc\n",
			"usr/lib/systemd/system/x.service": "[Unit]\n",
			"var/cache/ldconfig/aux-cache":     "cache\n",
			"tmp/.keep":                        "",
			"var/lib/dpkg/status":              "Package: base-files\n",
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

func fakeRelease(body string) func(context.Context, string) ([]byte, error) {
	return func(_ context.Context, url string) ([]byte, error) {
		if url != "http://deb.debian.org/debian/dists/bookworm/InRelease" {
			return nil, fmt.Errorf("unexpected URL %s", url)
		}
		return []byte(body), nil
	}
}

// TestBuildSteps: a cold build (mmdebstrap makes the base layer, apt
// adds compute's packages on a copy) and a warm one (the layer from the
// cache, the same apt step) run the same steps after the layer and give
// the same image; a moved mirror makes a new layer.
func TestBuildSteps(t *testing.T) {
	labreq.Check(t, labreq.Tools("mksquashfs"))
	set := testSet(t)
	r, err := set.Resolve("compute")
	if err != nil {
		t.Fatal(err)
	}
	layers := t.TempDir()
	var shas []string
	var runs [][]string
	for i, release := range []string{"Release 1", "Release 1", "Release 2"} {
		work := filepath.Join(t.TempDir(), "w")
		f := &fakeRunner{}
		res, err := Build(context.Background(), r, Options{Work: work, Cache: "/cache/apt", Layers: layers, Runner: f, Fetch: fakeRelease(release)})
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
		if _, err := os.Stat(filepath.Join(root, "var/lib/fake-apt/procps")); err != nil {
			t.Errorf("build %d: compute's package not installed on the layer: %v", i, err)
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
			c = strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(c, work, "WORK"), set.Dir, "PROFILES"), layers, "LAYERS")
			cmds = append(cmds, regexp.MustCompile(`[0-9a-f]{64}(\.tmp-[0-9]+)?`).ReplaceAllString(c, "KEY"))
		}
		runs = append(runs, cmds)
	}
	if shas[0] != shas[1] {
		t.Errorf("cold and warm build of the same inputs: sha256 %s != %s", shas[0], shas[1])
	}
	built := func(cmds []string) bool {
		for _, c := range cmds {
			if strings.HasPrefix(c, "mmdebstrap --mode") {
				return true
			}
		}
		return false
	}
	if !built(runs[0]) || built(runs[1]) || !built(runs[2]) {
		t.Errorf("mmdebstrap runs (cold, warm, moved mirror) = %v %v %v, want true false true", built(runs[0]), built(runs[1]), built(runs[2]))
	}
	if want := runs[0][2:]; strings.Join(runs[1][1:], "\n") != strings.Join(want, "\n") {
		t.Errorf("the warm build's steps after the layer differ from the cold build's:\n%s\nwant\n%s", strings.Join(runs[1][1:], "\n"), strings.Join(want, "\n"))
	}
	golden.Check(t, "testdata/compute.cmds", strings.Join(runs[0], "\n")+"\n")
}

func TestSplitLayers(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"base.yaml":    "packages: [systemd, nano]\n",
		"aux.yaml":     "inherits: [base]\npackages: [curl]\n",
		"empty.yaml":   "inherits: [aux]\n",
		"gpu.yaml":     "inherits: [empty]\npackages: [-nano, hello, procps]\n",
		"single.yaml":  "packages: [vim]\n",
		"variant.yaml": "inherits: [aux]\nvariant: apt\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set := imageprofile.Open(dir)
	show := func(name string) ([]Layer, string) {
		r, err := set.Resolve(name)
		if err != nil {
			t.Fatal(err)
		}
		l, leaf := splitLayers(r)
		keyLayers(l, r, "mmdebstrap 1.3.5", "abc", 1)
		var out []string
		for _, x := range l {
			out = append(out, x.Profile+"["+strings.Join(x.Packages, ",")+"]")
		}
		return l, strings.Join(out, " ") + " + " + strings.Join(leaf, ",")
	}
	for _, tc := range []struct{ name, want string }{
		{"gpu", "base[systemd] aux[curl] + hello,procps"}, // gpu drops nano: its base layer has no nano
		{"aux", "base[nano,systemd] + curl"},
		{"empty", "base[nano,systemd] aux[curl] + "},
		{"single", "(essential)[] + vim"},
	} {
		if _, got := show(tc.name); got != tc.want {
			t.Errorf("%s: layers %s, want %s", tc.name, got, tc.want)
		}
	}
	aux, _ := show("aux")
	empty, _ := show("empty")
	gpu, _ := show("gpu")
	variant, _ := show("variant")
	switch {
	case aux[0].Key != empty[0].Key:
		t.Errorf("aux and empty share base's layer: keys differ")
	case gpu[0].Key == empty[0].Key:
		t.Errorf("gpu's base layer (without nano) has the key of the one with nano")
	case variant[0].Key == aux[0].Key:
		t.Errorf("another variant, the same key")
	case !strings.Contains(empty[1].Inputs, "below "+empty[0].Key):
		t.Errorf("a layer's key does not depend on the layer below:\n%s", empty[1].Inputs)
	}
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
		{"missing package", map[string]string{"unshare": "E: Unable to locate package procps\n"}, "package(s) not in http://deb.debian.org/debian bookworm: procps (from compute:2)"},
		{"missing base package", map[string]string{"mmdebstrap": "E: Unable to locate package systemd\n"}, "package(s) not in http://deb.debian.org/debian bookworm: systemd (from base:1)"},
		{"mirror down", map[string]string{"mmdebstrap": "E: Failed to fetch http://deb.debian.org/...\n"}, "Failed to fetch"},
		{"postinstall", map[string]string{"20-compute.sh": "widget broken\n"}, "postinstall " + filepath.Join(set.Dir, "20-compute.sh") + " (from compute:3) failed: exit status 1; last lines:\n  widget broken"},
		{"owner", map[string]string{"chroot": "install: invalid group 'adm'\n"}, "files /etc/motd (from base:4)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			work := t.TempDir()
			_, err := Build(context.Background(), r, Options{Work: work, Runner: &fakeRunner{fail: tc.fail}, Fetch: fakeRelease("R")})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v\nwant %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(work, "compute.squashfs")); err == nil {
				t.Errorf("a failed build left an image")
			}
		})
	}
}

// TestBuildDiskful: a diskful profile's kernel and grub go into its
// package layer and the image; an image without them (a kernel package
// that brings none) is refused naming what lacks, and no image is left.
func TestBuildDiskful(t *testing.T) {
	if _, err := exec.LookPath("mksquashfs"); err != nil {
		t.Skip("mksquashfs not installed (make lab-deps)")
	}
	set := testSet(t)
	for name, body := range map[string]string{
		"disk.yaml":   "inherits: [compute]\ndiskful: true\n",
		"broken.yaml": "inherits: [disk]\nkernel: linux-image-nothing\n",
	} {
		if err := os.WriteFile(filepath.Join(set.Dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r, err := set.Resolve("disk")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	f := &fakeRunner{}
	res, err := Build(context.Background(), r, Options{Work: work, Runner: f, Fetch: fakeRelease("R")})
	if err != nil {
		t.Fatal(err)
	}
	if all := strings.Join(f.cmds, "\n"); !strings.Contains(all, "dt-apt "+res.Root+" - grub-efi-amd64-bin grub-pc-bin grub2-common initramfs-tools linux-image-amd64\n") {
		t.Errorf("the kernel and grub are not the image's own packages:\n%s", all)
	}
	if !res.Profile.Diskful || res.Profile.Kernel != "linux-image-amd64" {
		t.Errorf("image record: diskful %v kernel %q", res.Profile.Diskful, res.Profile.Kernel)
	}
	r, err = set.Resolve("broken")
	if err != nil {
		t.Fatal(err)
	}
	work = t.TempDir()
	_, err = Build(context.Background(), r, Options{Work: work, Runner: &fakeRunner{}, Fetch: fakeRelease("R")})
	if want := "diskful image (disk:2) lacks /boot/vmlinuz-*, /boot/initrd.img-*: check the kernel package linux-image-nothing (from broken:2)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(work, "broken.squashfs")); err == nil {
		t.Errorf("a refused diskful build left an image")
	}
}

func TestMmdebstrapArgs(t *testing.T) {
	r, err := testSet(t).Resolve("base")
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(MmdebstrapArgs(r, r.PackageNames(), "/w/root", ""))
	if !strings.Contains(got, "--include=openssh-server,systemd") || strings.Contains(got, "sync-in") || !strings.HasSuffix(got, "bookworm /w/root http://deb.debian.org/debian]") {
		t.Errorf("args = %s", got)
	}
}
