package debtest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// maxExposure is the highest `systemd-analyze security` exposure accepted
// for bootsrv.service (0 safest .. 10 unsafe; systemd calls < 2 "OK").
const maxExposure = 2.0

// require skips (or fails under DT_LAB_REQUIRED=1) without the tools.
func require(t *testing.T) {
	t.Helper()
	// Boots QEMU and builds a Debian root: a lab test.
	_, kerr := labcluster.FindKernel()
	labreq.Require(t, labreq.Root(), labreq.Tools("dpkg-deb", "lintian", "mmdebstrap", "systemd-analyze", "systemd-nspawn",
		"nsenter", "qemu-system-x86_64", "ssh", "ip"), labreq.Err(kerr))
}

func run(t *testing.T, ctx context.Context, name string, args ...string) string {
	t.Helper()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// chroot runs a shell command in root with a plain Debian environment.
func chroot(ctx context.Context, root, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "chroot", root, "/bin/sh", "-ec", script)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8", "DEBIAN_FRONTEND=noninteractive"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// debFile returns $DT_DEB (make test passes make deb's output) or builds one.
func debFile(t *testing.T, ctx context.Context) string {
	if p := os.Getenv("DT_DEB"); p != "" {
		return p
	}
	repo, err := labcluster.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.CommandContext(ctx, filepath.Join(repo, "packaging/debian/build.sh"), out)
	cmd.Dir = repo
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("packaging/debian/build.sh: %v\n%s", err, b)
	}
	m, _ := filepath.Glob(filepath.Join(out, "*.deb"))
	if len(m) != 1 {
		t.Fatalf("build.sh made %v", m)
	}
	return m[0]
}

func TestDebPackage(t *testing.T) {
	require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Minute)
	defer cancel()
	deb := debFile(t, ctx)
	t.Logf("package %s", deb)

	t.Run("lintian", func(t *testing.T) {
		out, _ := exec.CommandContext(ctx, "lintian", "--tag-display-limit", "0", "-I", deb).CombinedOutput()
		for _, line := range strings.Split(string(out), "\n") {
			switch {
			case strings.HasPrefix(line, "E: "):
				t.Errorf("lintian error: %s", line)
			case strings.HasPrefix(line, "W: "):
				t.Logf("lintian warning: %s", line)
			}
		}
		if !strings.Contains(string(out), "disklesstrap") && len(strings.TrimSpace(string(out))) > 0 {
			t.Logf("lintian output:\n%s", out)
		}
	})

	root := newRoot(t, ctx)
	t.Run("install", func(t *testing.T) { install(t, ctx, root, deb) })
	if t.Failed() {
		t.FailNow()
	}
	t.Run("files", func(t *testing.T) { checkFiles(t, ctx, root) })
	t.Run("systemd", func(t *testing.T) { checkUnit(t, ctx, root) })
	// The example inventory names no boot interface, and bootsrv answers
	// DHCP only on an interface tied to a network (docs/hardening.md): as
	// an admin would, give the network its interface, here lo (the test
	// root has no boot NIC).
	t.Run("boot network interface", func(t *testing.T) {
		const cfg = "/etc/disklesstrap/cluster.yaml"
		if out, err := chroot(ctx, root, `sed -i 's/^    # interface: eno2 .*$/    interface: lo/' `+cfg+` && grep -q '^    interface: lo$' `+cfg+` && bootsrv check --config `+cfg); err != nil {
			t.Fatalf("set interface: lo in %s: %v\n%s", cfg, err, out)
		}
	})
	t.Run("unprivileged", func(t *testing.T) { unprivileged(t, ctx, root) })
	t.Run("under systemd", func(t *testing.T) { underSystemd(t, ctx, root) })
	t.Run("initrd boots a lab node", func(t *testing.T) { bootNode(t, ctx, root) })
}

// newRoot makes a fresh Debian 12 root with mmdebstrap (variant apt, plus
// systemd and dbus for systemd-analyze and a systemd-nspawn boot), from the host's mirror; downloads are
// kept in $DT_CACHE/mmdebstrap/archives.
func newRoot(t *testing.T, ctx context.Context) string {
	t.Helper()
	mirror := hostMirror("/etc/apt", "bookworm")
	if mirror == "" {
		t.Fatal("no bookworm mirror in the host's /etc/apt sources")
	}
	cache, err := labcluster.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	archives := filepath.Join(cache, "mmdebstrap", "archives")
	if err := os.MkdirAll(archives, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(t.TempDir(), "root")
	t0 := time.Now()
	run(t, ctx, "mmdebstrap", "--variant=apt", "--include=systemd,dbus",
		"--skip=download/empty", "--skip=essential/unlink", "--skip=cleanup/apt/cache", "--skip=cleanup/apt/lists",
		`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
		"--setup-hook=sync-in "+archives+" /var/cache/apt/archives/",
		"bookworm", root, mirror)
	t.Logf("mmdebstrap bookworm from %s: %.0fs", mirror, time.Since(t0).Seconds())
	t.Cleanup(func() {
		// Keep every package downloaded (bootstrap and our Depends) for the next run.
		debs, _ := filepath.Glob(filepath.Join(root, "var/cache/apt/archives/*.deb"))
		for _, d := range debs {
			dst := filepath.Join(archives, filepath.Base(d))
			if _, err := os.Stat(dst); err != nil {
				labcluster.CopyFile(d, dst, 0o644)
			}
		}
	})
	return root
}

func install(t *testing.T, ctx context.Context, root, deb string) {
	if err := labcluster.CopyFile(deb, filepath.Join(root, "tmp/disklesstrap.deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := chroot(ctx, root, "dpkg -i /tmp/disklesstrap.deb")
	if err == nil || !strings.Contains(out, "dependency problems") {
		t.Logf("dpkg -i (dependencies missing on purpose): %v\n%s", err, out)
	}
	if out, err := chroot(ctx, root, "apt-get -f install -y -q --no-install-recommends"); err != nil {
		t.Fatalf("apt-get -f install: %v\n%s", err, out)
	}
	out, err = chroot(ctx, root, "dpkg-query -W -f='${Status} ${Version}' disklesstrap ipxe")
	if err != nil || !strings.Contains(out, "install ok installed") {
		t.Fatalf("disklesstrap not installed: %v %s", err, out)
	}
	t.Logf("installed: %s", out)
}

func checkFiles(t *testing.T, ctx context.Context, root string) {
	for _, f := range []string{
		"usr/sbin/bootsrv", "usr/bin/trapctl", "lib/systemd/system/bootsrv.service",
		"etc/disklesstrap/cluster.yaml", "etc/default/disklesstrap",
		"usr/lib/disklesstrap/initrd/trap", "usr/lib/disklesstrap/initrd/trap-torrent",
		"usr/lib/disklesstrap/initrd/bb", "usr/lib/disklesstrap/initrd/bb.commands",
		"usr/share/man/man8/bootsrv.8.gz", "usr/share/man/man1/trapctl.1.gz",
		"usr/share/doc/disklesstrap/README.md.gz", "usr/share/doc/disklesstrap/examples/cluster.yaml",
		"usr/lib/ipxe/undionly.kpxe", "usr/lib/ipxe/snponly.efi", // from Debian's ipxe (Depends)
		"var/lib/disklesstrap/data/boot", "var/lib/disklesstrap/data/images", "var/lib/disklesstrap/data/tftp",
	} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("/%s: %v", f, err)
		}
	}
	for _, tt := range []struct{ script, want string }{
		{"dpkg-query -W -f='${Conffiles}' disklesstrap", "/etc/disklesstrap/cluster.yaml "},
		{"dpkg-query -W -f='${Conffiles}' disklesstrap", "/etc/default/disklesstrap "},
		{"getent passwd disklesstrap", ":/var/lib/disklesstrap:"},
		{"stat -c '%U:%G %a' /var/lib/disklesstrap /etc/disklesstrap /etc/disklesstrap/cluster.yaml", "disklesstrap:disklesstrap 750\nroot:disklesstrap 2770\nroot:disklesstrap 660"},
		{"command -v go || echo no-go; ls /usr/lib/go* /usr/local/go 2>&1 || true", "no-go"},
		{"bootsrv check --config /etc/disklesstrap/cluster.yaml", "/etc/disklesstrap/cluster.yaml: ok: 0 nodes"},
		{"trapctl --help", "inventory check FILE"},
		{"trapctl inventory check /usr/share/doc/disklesstrap/examples/cluster.yaml", "ok: 7 nodes"},
	} {
		out, err := chroot(ctx, root, tt.script)
		if err != nil || !strings.Contains(out, tt.want) {
			t.Errorf("%s: %v\n%s\nwant %q", tt.script, err, out, tt.want)
		}
	}
	// A broken edit fails the check (ExecReload runs it before SIGHUP).
	out, err := chroot(ctx, root, "cp /etc/disklesstrap/cluster.yaml /tmp/bad.yaml && sed -i 's/^  mode: trap/  mode: fly/' /tmp/bad.yaml && bootsrv check --config /tmp/bad.yaml")
	if err == nil || !strings.Contains(out, `/tmp/bad.yaml:`) || !strings.Contains(out, `defaults.mode: unknown mode "fly"`) {
		t.Errorf("bootsrv check on a broken copy: %v\n%s", err, out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for bootsrv.service: ([0-9.]+)`)

func checkUnit(t *testing.T, ctx context.Context, root string) {
	out, err := chroot(ctx, root, "systemd-analyze verify --man=no /lib/systemd/system/bootsrv.service 2>&1")
	if err != nil || strings.TrimSpace(out) != "" {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = chroot(ctx, root, fmt.Sprintf("systemd-analyze security --offline=true --threshold=%d --no-pager /lib/systemd/system/bootsrv.service 2>&1", int(maxExposure*10)))
	m := exposureRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: %v, no exposure level:\n%s", err, out)
	}
	score, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security bootsrv.service: exposure %.1f (threshold %.1f)", score, maxExposure)
	if score >= maxExposure {
		t.Errorf("exposure %.1f >= %.1f:\n%s", score, maxExposure, out)
	}
	for _, want := range []string{"Type=notify", "ExecReload=/usr/sbin/bootsrv check", "ExecReload=/bin/kill -HUP $MAINPID",
		"AmbientCapabilities=CAP_NET_BIND_SERVICE\n", "ProtectSystem=strict", "Restart=on-failure", "User=disklesstrap"} {
		unit, _ := os.ReadFile(filepath.Join(root, "lib/systemd/system/bootsrv.service"))
		if !strings.Contains(string(unit), want) {
			t.Errorf("bootsrv.service lacks %q", want)
		}
	}
}

// unprivileged runs the packaged bootsrv as the unit does, user
// disklesstrap with CAP_NET_BIND_SERVICE alone (setpriv), in a network
// namespace of its own: it binds DHCP (67), TFTP (69) and HTTP, and serves.
func unprivileged(t *testing.T, ctx context.Context, root string) {
	caps := "-all,+net_bind_service"
	out, _ := chroot(ctx, root, "install -d -o disklesstrap -g disklesstrap -m 0700 /run/disklesstrap && "+ // the unit's RuntimeDirectory (admin socket)
		"timeout -s TERM 4 unshare -n setpriv --reuid disklesstrap --regid disklesstrap --init-groups"+
		" --inh-caps "+caps+" --ambient-caps "+caps+" --bounding-set "+caps+" --no-new-privs --"+
		" bootsrv --config /etc/disklesstrap/cluster.yaml --state /var/lib/disklesstrap --data /var/lib/disklesstrap/data"+
		" --torrent-listen off --log-format json 2>&1 || true")
	for _, want := range []string{`"msg":"dhcp serving"`, `"msg":"tftp serving"`, `"msg":"bootsrv serving"`} {
		if !strings.Contains(out, want) {
			t.Errorf("bootsrv as disklesstrap with CAP_NET_BIND_SERVICE: no %s\n%s", want, out)
		}
	}
	if strings.Contains(out, `"level":"ERROR"`) || strings.Contains(out, "permission denied") {
		t.Errorf("bootsrv unprivileged logged errors:\n%s", out)
	}
}

// bootNode builds the trap initramfs inside the root (no Go there), boots
// a lab node with it and follows the node in bootsrv's JSON log.
func bootNode(t *testing.T, ctx context.Context, root string) {
	k, err := labcluster.FindKernel()
	if err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(root, "mnt/kernel")
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, "mount", "--bind", "-o", "ro", k.ModulesRoot, mnt)
	defer exec.Command("umount", mnt).Run()
	t0 := time.Now()
	out, err := chroot(ctx, root, "cd /root && trapctl initrd build -modules-root /mnt/kernel -bootsrv-cert none -out /root/trap.cpio.gz 2>&1")
	if err != nil {
		t.Fatalf("trapctl initrd build in the root: %v\n%s", err, out)
	}
	t.Logf("trapctl initrd build without Go: %.1fs\n%s", time.Since(t0).Seconds(), lastLines(out, 3))
	if !strings.Contains(out, "prebuilt agent") || !strings.Contains(out, "/usr/lib/disklesstrap/initrd/bb") {
		t.Errorf("the build did not use the packaged prebuilt parts:\n%s", out)
	}

	const name = "cn041"
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd:      filepath.Join(root, "root/trap.cpio.gz"),
		Nodes:       []labcluster.Node{{Name: name, MAC: "52:54:00:d7:00:41", IP: "198.18.0.41", Firmware: lab.BIOS}},
		BootsrvArgs: []string{"--log-format", "json"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Boot(name); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	if err := c.WaitSSH(ctx, name, 4*time.Minute); err != nil {
		t.Fatalf("%v\nbootsrv log:\n%s", err, lastLines(c.Bootsrv.Log(), 30))
	}
	t.Logf("%s trapped %.0fs after power-on (initramfs built in the package's root)", name, time.Since(t1).Seconds())
	if out, err := c.SSH(ctx, name, c.Key, "cat", "/proc/cmdline"); err != nil || !strings.Contains(out, "BOOTIF=") {
		t.Errorf("ssh into the trap: %v %s", err, out)
	}
	followNode(t, c.Bootsrv.Log(), name)
}

// followNode checks that every bootsrv log line is JSON and that the
// lines naming node tell its boot: DHCP lease, iPXE script, kernel and
// initramfs, manifest, events.
func followNode(t *testing.T, log, node string) {
	var story []string
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		n++
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("bootsrv log line %d is not JSON: %q", n, line)
			continue
		}
		if !strings.Contains(line, node) {
			continue
		}
		step := strings.TrimSuffix(fmt.Sprint(m["msg"]), " request")
		if p, ok := m["path"].(string); ok {
			step += " " + p
		}
		story = append(story, step)
		if m["msg"] == "http request" && m["request"] == nil {
			t.Errorf("http line without request id: %s", line)
		}
	}
	all := strings.Join(story, "\n")
	t.Logf("grep %s in bootsrv's JSON log (%d lines of %d):\n%s", node, len(story), n, all)
	for _, want := range []string{"dhcp", "ipxe script", "http /ipxe", "http /boot/vmlinuz", "http /boot/trap.cpio.gz", "http /manifest", "http /api/v1/events"} {
		if !strings.Contains(all, want) {
			t.Errorf("grepping %s misses %q", node, want)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
