package initrd

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

// fixtureKernel lays testdata/modules.dep out as a modules root for KVER
// 9.9.9-test, with empty .ko files.
func fixtureKernel(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	kdir := filepath.Join(root, "lib", "modules", "9.9.9-test")
	md, _ := loadFixture(t)
	for _, f := range md.order {
		p := filepath.Join(kdir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("ko "+f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"modules.dep", "modules.alias", "modules.builtin"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(kdir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestBuildHostFiles builds an image with a prebuilt static /init
// (busybox), a dynamic host binary and fixture modules: no Go toolchain.
func TestBuildHostFiles(t *testing.T) {
	for _, p := range []string{"/bin/busybox", "/usr/bin/ssh"} {
		if _, err := os.Stat(p); err != nil {
			skipUnless(t, false, p+" not installed (busybox-static, openssh-client)")
		}
	}
	dir := t.TempDir()
	motd := filepath.Join(dir, "motd")
	if err := os.WriteFile(motd, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Config{
		Agent:         "/bin/busybox",
		UrootCommands: []string{},
		HostBinaries:  []string{"/bin/busybox", "/usr/bin/ssh"},
		ModulesRoot:   fixtureKernel(t),
		Modules:       []string{"virtio_net", "loop"},
		ExtraFiles:    map[string]string{"/etc/motd": motd},
		Files: []File{
			{Path: "/" + BootsrvCertPath, Data: []byte("PINNED-PEM\n"), Mode: 0o600},
			{Path: "usr/local/bin/hello", Data: []byte("#!/bin/sh\necho hi\n"), Mode: 0o700},
		},
		Output:  filepath.Join(dir, "out", "x.img"),
		TempDir: dir,
		NoCache: true,
	})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	recs, err := ReadArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Record{}
	for _, r := range recs {
		got["/"+r.Name] = r
	}
	if len(got) != len(res.Files) {
		t.Errorf("Result.Files has %d entries, archive %d", len(res.Files), len(got))
	}
	read := func(name string) string {
		r, ok := got[name]
		if !ok {
			t.Errorf("%s missing from the image", name)
			return ""
		}
		b, _ := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		return string(b)
	}
	for _, want := range []string{
		"/init", "/bin/busybox", "/usr/bin/ssh", "/lib/x86_64-linux-gnu/libc.so.6",
		"/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", "/etc/motd", "/dev/console",
		"/lib/modules/9.9.9-test/kernel/drivers/net/virtio_net.ko",
		"/lib/modules/9.9.9-test/kernel/net/core/failover.ko",
		"/lib/modules/9.9.9-test/modules.builtin",
	} {
		if _, ok := got[want]; !ok {
			t.Errorf("%s missing from the image", want)
		}
	}
	if _, ok := got["/bbin/bb"]; ok {
		t.Errorf("/bbin/bb present although UrootCommands is empty")
	}
	if l := read("/lib64/ld-linux-x86-64.so.2"); l != "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" {
		t.Errorf("/lib64/ld-linux-x86-64.so.2 -> %q, want the multiarch loader", l)
	}
	if l := read("/bin/trap"); l != "../init" {
		t.Errorf("/bin/trap -> %q, want ../init", l)
	}
	if got["/etc/motd"].Mode != cpio.S_IFREG|0o644 || read("/etc/motd") != "hello\n" {
		t.Errorf("/etc/motd mode %o content %q", got["/etc/motd"].Mode, read("/etc/motd"))
	}
	if r := got["/etc/trap/bootsrv.pem"]; r.Mode != cpio.S_IFREG|0o644 || read("/etc/trap/bootsrv.pem") != "PINNED-PEM\n" {
		t.Errorf("/etc/trap/bootsrv.pem mode %o content %q, want 0644 PINNED-PEM", r.Mode, read("/etc/trap/bootsrv.pem"))
	}
	if r := got["/usr/local/bin/hello"]; r.Mode != cpio.S_IFREG|0o755 || !strings.HasPrefix(read("/usr/local/bin/hello"), "#!/bin/sh") {
		t.Errorf("/usr/local/bin/hello mode %o, want 0755 with its content", r.Mode)
	}
	var s AgentSettings
	if err := json.Unmarshal([]byte(read("/"+AgentConfigPath)), &s); err != nil || strings.Join(s.Modules, ",") != "virtio_net,loop" {
		t.Errorf("agent config = %+v, %v; want modules [virtio_net loop]", s, err)
	}
	dep := read("/lib/modules/9.9.9-test/modules.dep")
	if n := strings.Count(dep, "\n"); n != 5 {
		t.Errorf("image modules.dep has %d lines, want 5:\n%s", n, dep)
	}
	alias := read("/lib/modules/9.9.9-test/modules.alias")
	if !strings.Contains(alias, " virtio_net\n") || strings.Contains(alias, "e1000") {
		t.Errorf("image modules.alias not trimmed to the modules shipped:\n%s", alias)
	}
	if len(res.Modules) != 5 {
		t.Errorf("Result.Modules = %v, want 5 files", res.Modules)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		skipUnless(t, false, "/bin/busybox not installed (busybox-static)")
	}
	kroot := fixtureKernel(t)
	dir := t.TempDir()
	base := func() Config {
		return Config{
			Agent: "/bin/busybox", UrootCommands: []string{}, HostBinaries: []string{},
			Output: filepath.Join(dir, "x.img"), TempDir: dir, NoCache: true,
		}
	}
	kdir := filepath.Join(kroot, "lib", "modules", "9.9.9-test")
	for _, tc := range []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"no output", func(c *Config) { c.Output = "" }, "no output path"},
		{"bad compression", func(c *Config) { c.Compression = "lz4" }, `compression "lz4"`},
		{"module missing", func(c *Config) { c.ModulesRoot = kroot; c.Modules = []string{"foo"} },
			"module foo: not found in " + filepath.Join(kdir, "modules.dep")},
		{"module dep missing", func(c *Config) { c.ModulesRoot = kroot; c.Modules = []string{"iscsi_tcp"} },
			"missing_dep.ko (needed by kernel/drivers/scsi/iscsi_tcp.ko): not found in "},
		{"modules without root", func(c *Config) { c.Modules = []string{"e1000"} }, "no ModulesRoot"},
		{"no kernel dir", func(c *Config) { c.ModulesRoot = dir; c.Modules = []string{"e1000"} }, "kernel modules"},
		{"host binary missing", func(c *Config) { c.HostBinaries = []string{"/nonexistent/iscsiadm"} }, "/nonexistent/iscsiadm"},
		{"host binary relative", func(c *Config) { c.HostBinaries = []string{"bin/busybox"} }, "want an absolute path"},
		{"dynamic agent", func(c *Config) { c.Agent = "/usr/bin/ssh" }, "dynamically linked"},
		{"extra file missing", func(c *Config) { c.ExtraFiles = map[string]string{"/etc/x": "/nonexistent/x"} }, "extra file /etc/x"},
		{"extra file over init", func(c *Config) { c.ExtraFiles = map[string]string{"/init": "/usr/bin/ssh"} }, "image path /init"},
		{"file over init", func(c *Config) { c.Files = []File{{Path: "/init", Data: []byte("x")}} }, "image path /init"},
		{"file twice", func(c *Config) {
			c.Files = []File{{Path: "/etc/trap/bootsrv.pem"}, {Path: "etc/trap/bootsrv.pem"}}
		}, "file /etc/trap/bootsrv.pem given twice"},
		{"file outside", func(c *Config) { c.Files = []File{{Path: "/"}} }, "not a file path inside the image"},
		{"bad applet", func(c *Config) {
			c.HostBinaries = []string{"/bin/busybox"}
			c.BusyboxApplets = []string{"../sh"}
		}, `applet "../sh"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base()
			tc.mod(&cfg)
			_, err := Build(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Build(%s) error = %v, want one containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x.img")); err == nil {
		t.Errorf("a failed build left its output behind")
	}
}

// TestBuildHelpers: Config.Helpers are Go packages built static into
// /bin/<name> next to the agent; a package that does not build fails the
// build naming it.
func TestBuildHelpers(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		skipUnless(t, false, "/bin/busybox not installed (busybox-static)")
	}
	dir := t.TempDir()
	cfg := Config{
		Agent: "/bin/busybox", UrootCommands: []string{}, HostBinaries: []string{},
		ModuleDir: repoRoot(t), Helpers: []string{"./initrd/testdata/testinit"},
		Output: filepath.Join(dir, "x.img"), TempDir: dir, NoCache: true,
	}
	res, err := Build(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	recs, err := ReadArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range recs {
		if r.Name == "bin/testinit" {
			found = r.Mode&0o111 != 0 && r.FileSize > 0
		}
	}
	if !found {
		t.Errorf("/bin/testinit missing (or not executable) in the image")
	}
	cfg.Helpers = []string{"./initrd/testdata/no-such-helper"}
	if _, err := Build(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "helper ./initrd/testdata/no-such-helper") {
		t.Errorf("Build with a missing helper = %v, want an error naming it", err)
	}
}
