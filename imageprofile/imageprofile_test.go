package imageprofile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSet writes files (name -> content) into a temporary profile folder.
func writeSet(t *testing.T, files map[string]string) *Set {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, ".sh") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	return Open(dir)
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown field", "suite: bookworm\npackges: [a]\n", "p.yaml:2: packges: unknown field"},
		{"bad package", "packages:\n  - ok\n  - Bad_Name\n", "p.yaml:3: packages[1]: invalid package name \"Bad_Name\""},
		{"bad mode", "files:\n  - {src: a, dest: /etc/a, mode: \"rw\"}\n", "p.yaml:2: files[0].mode: \"rw\": want octal"},
		{"dest relative", "files:\n  - {src: a, dest: etc/a}\n", "p.yaml:2: files[0].dest: \"etc/a\": want an absolute path"},
		{"missing src", "files:\n  - {dest: /etc/a}\n", "p.yaml:2: files[0].src: missing (required)"},
		{"exclude root", "exclude: [\"/*\"]\n", "p.yaml:1: exclude[0]: \"/*\": would remove the whole image"},
		{"self inherit", "inherits: [p]\n", "p.yaml:1: inherits[0]: inheritance cycle: p -> p"},
		{"variant", "variant: huge\n", "p.yaml:1: variant: unknown mmdebstrap variant \"huge\""},
		{"mirror", "mirror: ftp://x\n", "p.yaml:1: mirror: invalid mirror"},
		{"duplicate key", "suite: a\nsuite: b\n", "p.yaml:2: suite: duplicate key (first at line 1)"},
		{"dup postscript", "postscripts: [a/10-x.sh, b/10-x.sh]\n", "p.yaml:1: postscripts[1]: postscript 10-x.sh listed twice"},
		{"not a mapping", "- a\n", "p.yaml:1: want a mapping"},
		{"two docs", "suite: a\n---\nsuite: b\n", "more than one YAML document"},
		{"diskful", "diskful: yes please\n", "p.yaml:1: diskful: \"yes please\": want true or false"},
		{"kernel", "kernel: -linux\n", "p.yaml:1: kernel: invalid kernel package name \"-linux\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("/x/p.yaml", []byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse: got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestChainCycle(t *testing.T) {
	s := writeSet(t, map[string]string{
		"a.yaml": "inherits: [b]\n",
		"b.yaml": "packages: [x1]\ninherits: [c]\n",
		"c.yaml": "inherits: [a]\n",
	})
	_, err := s.Resolve("a")
	if err == nil || !strings.Contains(err.Error(), "c.yaml:1: inherits: inheritance cycle: a -> b -> c -> a") {
		t.Errorf("got %v", err)
	}
}

func TestMissingParentAndFile(t *testing.T) {
	s := writeSet(t, map[string]string{
		"a.yaml":      "inherits: [nope]\n",
		"b.yaml":      "postinstall: [post/missing.sh]\n",
		"c.yaml":      "postinstall: [post/noexec]\n",
		"post/noexec": "#!/bin/sh\n",
	})
	for name, want := range map[string]string{
		"a": "a.yaml:1: inherits: profile nope: no file",
		"b": "b.yaml:1: postinstall[0]: stat",
		"c": "not executable",
	} {
		if _, err := s.Resolve(name); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Resolve(%s) = %v, want %q", name, err, want)
		}
	}
}

func TestResolveDiamondAndBlame(t *testing.T) {
	s := writeSet(t, map[string]string{
		"base.yaml": "suite: bookworm\npackages: [systemd, nano]\nexclude: [/usr/share/doc/*]\n" +
			"files:\n  - {src: f/motd, dest: /etc/motd}\npostinstall: [p/10-base.sh]\npostscripts: [s/50-base.sh, s/10-net.sh]\n",
		"aux.yaml": "inherits: [base]\npackages: [slurmd]\npostinstall: [p/20-aux.sh]\npostscripts: [s/30-aux.sh]\n",
		"gpu.yaml": "inherits: [base]\npackages: [nvidia-smi]\nfiles:\n  - {src: f/motd.gpu, dest: /etc/motd, mode: \"0600\", owner: root:adm}\n",
		"compute.yaml": "inherits: [aux, gpu]\nmirror: http://mirror.example/debian\npackages: [-nano, htop]\n" +
			"postinstall: [p/30-compute.sh]\npostscripts: [s/10-net.sh]\n",
		"f/motd": "m\n", "f/motd.gpu": "g\n",
		"p/10-base.sh": "#!/bin/sh\n", "p/20-aux.sh": "#!/bin/sh\n", "p/30-compute.sh": "#!/bin/sh\n",
		"s/50-base.sh": "", "s/10-net.sh": "", "s/30-aux.sh": "",
	})
	r, err := s.Resolve("compute")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.Chain, " "); got != "base aux gpu compute" {
		t.Errorf("chain = %s", got)
	}
	if got := strings.Join(r.PackageNames(), " "); got != "htop nvidia-smi slurmd systemd" {
		t.Errorf("packages = %s", got)
	}
	if got := strings.Join(r.PostscriptNames(), " "); got != "10-net.sh 30-aux.sh 50-base.sh" {
		t.Errorf("postscripts = %s", got)
	}
	if len(r.Files) != 1 || r.Files[0].From.Profile != "gpu" || r.Files[0].Mode != 0o600 || r.Files[0].Owner != "root:adm" {
		t.Errorf("files = %+v", r.Files)
	}
	var post []string
	for _, e := range r.Postinstall {
		post = append(post, filepath.Base(e.Value))
	}
	if got := strings.Join(post, " "); got != "10-base.sh 20-aux.sh 30-compute.sh" {
		t.Errorf("postinstall = %s", got)
	}
	var b bytes.Buffer
	if err := r.Write(&b, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mirror       http://mirror.example/debian", "compute:2", "suite        bookworm", "base:1", "package      slurmd", "aux:2", "postscript   10-net.sh", "compute:5"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("--blame output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestResolveDiskful: diskful adds the kernel (the nearest profile's
// kernel) and grub to the packages of the profile that asked, blamed on
// its diskful line; a later profile can turn it off.
func TestResolveDiskful(t *testing.T) {
	s := writeSet(t, map[string]string{
		"base.yaml":  "packages: [systemd]\nkernel: linux-image-cloud-amd64\n",
		"disk.yaml":  "inherits: [base]\npackages: [procps]\ndiskful: true\n",
		"ram.yaml":   "inherits: [disk]\ndiskful: false\n",
		"again.yaml": "inherits: [disk]\npackages: [-grub-pc-bin]\n",
	})
	r, err := s.Resolve("disk")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.PackageNames(), " "); got != "grub-efi-amd64-bin grub-pc-bin grub2-common initramfs-tools linux-image-cloud-amd64 procps systemd" {
		t.Errorf("diskful packages = %s", got)
	}
	for _, p := range r.Packages {
		if p.Value == "linux-image-cloud-amd64" && p.From.String() != "disk:3" {
			t.Errorf("kernel blamed on %s, want disk:3 (the diskful line)", p.From)
		}
	}
	var b bytes.Buffer
	r.Write(&b, true)
	if !strings.Contains(b.String(), "kernel       linux-image-cloud-amd64") || !strings.Contains(b.String(), "base:2") {
		t.Errorf("--blame lacks the kernel and its origin:\n%s", b.String())
	}
	if r, _ := s.Resolve("ram"); r.IsDiskful() || strings.Contains(strings.Join(r.PackageNames(), " "), "linux-image") {
		t.Errorf("diskful: false in a child still adds a kernel: %v", r.PackageNames())
	}
	// diskful's packages cannot be dropped by a child: the image must boot from disk.
	if r, _ := s.Resolve("again"); !strings.Contains(strings.Join(r.PackageNames(), " "), "grub-pc-bin") {
		t.Errorf("diskful image without grub-pc-bin: %v", r.PackageNames())
	}
}

func TestRepoProfiles(t *testing.T) {
	r, err := Open("../images/profiles").Resolve("compute")
	if err != nil {
		t.Fatal(err)
	}
	if r.Chain[0] != "base" || r.Suite.Value != "bookworm" || r.Mirror.Value != DefaultMirror {
		t.Errorf("images/profiles compute: %+v", r)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"inherits: [a]\npackages: [x, -y]\n", "files:\n  - {src: a, dest: /b, mode: \"0644\", owner: root:root}\n", "exclude: [/a/*]\npostscripts: [s/10.sh]\n", "- x", "{"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("/x/p.yaml", data)
		if err == nil && p == nil {
			t.Fatal("nil profile without an error")
		}
		if err != nil && !strings.HasPrefix(err.Error(), "/x/p.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
