package imagebuild

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disklesstrap/disklesstrap/imageprofile"
)

//go:embed firstboot
var firstboot embed.FS

// Paths in every built image.
const (
	PostscriptsDir = "/usr/lib/dt/postscripts" // the profile's postscripts
	PostscriptsBin = "/usr/lib/dt/dt-postscripts"
	ProfileFile    = "/usr/lib/dt/profile.json" // the resolved profile
)

// Units the build enables in every image.
var Units = []string{"dt-hostkeys.service", "dt-postscripts.service", "systemd-networkd.service", "systemd-networkd-wait-online.service"}

// Masked are linked to /dev/null in every image:
//   - systemd-firstboot: no console prompt to answer on a headless node;
//   - 99-default.link: the trap hands over the boot interface up and
//     configured under its kernel name; udev's rename to a predictable
//     name then fails and leaves it "renaming", and systemd-networkd waits
//     for it forever (seen in the lab: wait-online timed out, the boot
//     degraded). network.env and the agent's .network match by MAC.
var Masked = []string{"/etc/systemd/system/systemd-firstboot.service", "/etc/systemd/network/99-default.link"}

// Step is one build step: a name for the progress display, a line for
// the log, and what it does.
type Step struct {
	Name string
	Desc string
	Run  func(b *build, ctx context.Context) error
}

// steps returns the build's steps in order.
func steps(b *build) []Step {
	r := b.resolved
	layers, leaf := b.layers, b.leaf
	s := []Step{{
		Name: "mirror",
		Desc: fmt.Sprintf("mirror state (%s), layer keys, layer cache %s", releaseURL(r.Mirror.Value, r.Suite.Value), b.opt.Layers),
		Run:  (*build).mirror,
	}}
	for i, l := range layers {
		i, l := i, l
		how := fmt.Sprintf("mmdebstrap debian %s from %s (%s variant), %d package(s) of %s", r.Suite.Value, r.Mirror.Value, r.Variant.Value, len(l.Packages), l.Profile)
		if i > 0 {
			how = fmt.Sprintf("apt-get install %s on the layer below", strings.Join(l.Packages, " "))
		}
		s = append(s, Step{Name: "layer " + l.Profile, Desc: how + " (unless cached)", Run: func(b *build, ctx context.Context) error { return b.layer(ctx, i) }})
	}
	s = append(s, Step{
		Name: "packages " + r.Name,
		Desc: fmt.Sprintf("copy the top layer to the root, apt-get install %d package(s) of %s: %s", len(leaf), r.Name, strings.Join(leaf, " ")),
		Run:  (*build).packages,
	})
	for i, f := range r.Files {
		f := f
		s = append(s, Step{
			Name: "file " + f.Dest,
			Desc: fmt.Sprintf("sync %s -> %s (%04o %s) from %s", f.Src, f.Dest, f.Mode, f.Owner, f.From),
			Run:  func(b *build, ctx context.Context) error { return b.syncFile(ctx, i, f) },
		})
	}
	for _, p := range r.Postinstall {
		p := p
		s = append(s, Step{
			Name: "postinstall " + filepath.Base(p.Value),
			Desc: fmt.Sprintf("%s ROOT (from %s)", p.Value, p.From),
			Run:  func(b *build, ctx context.Context) error { return b.postinstall(ctx, p) },
		})
	}
	s = append(s,
		Step{Name: "firstboot", Desc: fmt.Sprintf("%s, %d postscript(s) in %s, enable %s", PostscriptsBin, len(r.Postscripts), PostscriptsDir, strings.Join(Units, " ")), Run: (*build).firstboot},
		Step{Name: "exclude", Desc: fmt.Sprintf("remove %d path(s)/glob(s) (inside the root)", len(r.Exclude)), Run: (*build).exclude},
		Step{Name: "scrub", Desc: "machine-id emptied; SSH host keys, random seeds, logs, package lists and caches removed", Run: (*build).scrub},
	)
	if r.IsDiskful() {
		s = append(s, Step{Name: "diskful", Desc: fmt.Sprintf("check the kernel (%s), its initramfs and grub for BIOS and UEFI are in the image (diskful from %s)", r.Kernel.Value, r.Diskful.From), Run: (*build).diskful})
	}
	return s
}

// Diskful lists what mode install needs in a diskful image (globs in the
// image root): a kernel and its initramfs in /boot, grub-install and
// grub-mkconfig, grub's BIOS and UEFI modules.
var Diskful = []string{"/boot/vmlinuz-*", "/boot/initrd.img-*", "/usr/sbin/grub-install", "/usr/sbin/grub-mkconfig", "/usr/lib/grub/i386-pc/normal.mod", "/usr/lib/grub/x86_64-efi/normal.mod"}

// diskful checks the image can be installed: everything in Diskful is
// there (an exclude or a postinstall may have removed it).
func (b *build) diskful(ctx context.Context) error {
	var missing []string
	for _, g := range Diskful {
		if m, _ := filepath.Glob(b.root + g); len(m) == 0 {
			missing = append(missing, g)
		} else {
			fmt.Fprintf(b.log, "diskful: %s\n", strings.TrimPrefix(m[len(m)-1], b.root))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("diskful image (%s) lacks %s: check the kernel package %s (from %s) and the exclusions", b.resolved.Diskful.From, strings.Join(missing, ", "), b.resolved.Kernel.Value, b.resolved.Kernel.From)
	}
	return nil
}

// mirror reads the mirror's state and the tool's version and keys the
// layers with them; it says which layers are cached.
func (b *build) mirror(ctx context.Context) error {
	r := b.resolved
	url := releaseURL(r.Mirror.Value, r.Suite.Value)
	rel, err := b.opt.Fetch(ctx, url)
	if err != nil {
		return fmt.Errorf("mirror state: %w", err)
	}
	var ver bytes.Buffer
	if err := b.opt.Runner.Run(ctx, &ver, nil, "mmdebstrap", "--version"); err != nil {
		return fmt.Errorf("mmdebstrap --version: %w", err)
	}
	keyLayers(b.layers, r, strings.TrimSpace(ver.String()), sha(string(rel)), b.opt.Epoch)
	fmt.Fprintf(b.log, "%s: sha256 %s\n", url, sha(string(rel)))
	if err := os.MkdirAll(b.opt.Layers, 0o755); err != nil {
		return fmt.Errorf("layer cache: %w", err)
	}
	b.from = -1
	for i, l := range b.layers {
		state := "to build"
		if b.cached(l) {
			state, b.from = "cached", i
		}
		fmt.Fprintf(b.log, "layer %d %s %s: %s (%s)\n", i, l.Profile, l.Key[:12], strings.Join(l.Packages, " "), state)
	}
	return nil
}

// layer makes layer i unless it or a layer above it is cached.
func (b *build) layer(ctx context.Context, i int) error {
	l := b.layers[i]
	if i <= b.from {
		fmt.Fprintf(b.log, "layer %s: cached (%s)\n", l.Key[:12], b.layerDir(b.layers[b.from]))
		return nil
	}
	tmp := fmt.Sprintf("%s.tmp-%d", b.layerDir(l), os.Getpid())
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	var err error
	if i == 0 {
		err = b.mmdebstrap(ctx, tmp, l.Packages)
	} else if err = b.copyTree(ctx, b.layerDir(b.layers[i-1]), tmp); err == nil {
		err = b.aptInstall(ctx, tmp, l.Packages)
	}
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return b.storeLayer(tmp, l)
}

// packages copies the top layer into the root and installs the image's
// own packages on it.
func (b *build) packages(ctx context.Context) error {
	top := b.layers[len(b.layers)-1]
	for _, l := range b.layers {
		b.touch(l)
	}
	if err := b.copyTree(ctx, b.layerDir(top), b.root); err != nil {
		return fmt.Errorf("copy layer %s: %w", top.Key[:12], err)
	}
	if len(b.leaf) == 0 {
		return nil
	}
	return b.aptInstall(ctx, b.root, b.leaf)
}

func (b *build) mmdebstrap(ctx context.Context, root string, pkgs []string) error {
	args := MmdebstrapArgs(b.resolved, pkgs, root, b.opt.Cache)
	fmt.Fprintf(b.log, "$ %s\n", cmdline("mmdebstrap", args...))
	var out bytes.Buffer
	if err := b.opt.Runner.Run(ctx, teeWriter{b.log, &out}, b.env(), "mmdebstrap", args...); err != nil {
		return b.packageError(out.Bytes(), err)
	}
	return nil
}

// packageError names the profile's packages the mirror does not have
// (apt's "Unable to locate package"), else err with the output's end.
func (b *build) packageError(out []byte, err error) error {
	var missing []string
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "Unable to locate package") && !strings.Contains(line, "has no installation candidate") {
			continue
		}
		words := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\'' || r == '"' || r == ',' })
		for _, p := range b.resolved.Packages {
			if slices.Contains(words, p.Value) && !seen[p.Value] {
				seen[p.Value] = true
				missing = append(missing, fmt.Sprintf("%s (from %s)", p.Value, p.From))
			}
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("package(s) not in %s %s: %s", b.resolved.Mirror.Value, b.resolved.Suite.Value, strings.Join(missing, ", "))
	}
	return fmt.Errorf("%w (last lines of the log:\n%s)", err, lastLines(string(out), 8))
}

func (b *build) syncFile(ctx context.Context, i int, f imageprofile.ResolvedFile) error {
	data, err := os.ReadFile(f.Src)
	if err != nil {
		return fmt.Errorf("files %s (from %s): %w", f.Dest, f.From, err)
	}
	// install(1) runs inside the root: the image's users and groups, and
	// symlinks resolved as the booted node will see them.
	tmp := fmt.Sprintf("/tmp/.dt-sync-%d", i)
	if err := os.WriteFile(b.root+tmp, data, 0o600); err != nil {
		return fmt.Errorf("files %s: %w", f.Dest, err)
	}
	defer os.Remove(b.root + tmp)
	user, group, _ := strings.Cut(f.Owner, ":")
	args := []string{b.root, "install", "-D", "-m", fmt.Sprintf("%04o", f.Mode), "-o", user, "-g", group, tmp, f.Dest}
	fmt.Fprintf(b.log, "$ %s\n", cmdline("chroot", args...))
	if err := b.opt.Runner.Run(ctx, b.log, b.env(), "chroot", args...); err != nil {
		return fmt.Errorf("files %s (from %s): %w (unknown owner %s in the image?)", f.Dest, f.From, err, f.Owner)
	}
	return nil
}

func (b *build) postinstall(ctx context.Context, p imageprofile.Entry) error {
	fmt.Fprintf(b.log, "$ %s %s\n", p.Value, b.root)
	var out bytes.Buffer
	env := append(b.env(), "IMAGE_ROOT="+b.root, "IMAGE_PROFILE="+b.resolved.Name)
	if err := b.opt.Runner.Run(ctx, teeWriter{b.log, &out}, env, p.Value, b.root); err != nil {
		return fmt.Errorf("postinstall %s (from %s) failed: %w; last lines:\n%s", p.Value, p.From, err, lastLines(out.String(), 8))
	}
	return nil
}

func (b *build) firstboot(ctx context.Context) error {
	put := func(p string, data []byte, mode os.FileMode) error {
		if err := os.MkdirAll(filepath.Dir(b.root+p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(b.root+p, data, mode); err != nil {
			return err
		}
		return os.Chmod(b.root+p, mode)
	}
	for _, f := range []struct {
		src, dst string
		mode     os.FileMode
	}{
		{"firstboot/dt-postscripts", PostscriptsBin, 0o755},
		{"firstboot/dt-postscripts.service", "/etc/systemd/system/dt-postscripts.service", 0o644},
		{"firstboot/dt-hostkeys.service", "/etc/systemd/system/dt-hostkeys.service", 0o644},
	} {
		data, err := firstboot.ReadFile(f.src)
		if err != nil {
			return err
		}
		if err := put(f.dst, data, f.mode); err != nil {
			return fmt.Errorf("firstboot %s: %w", f.dst, err)
		}
	}
	for _, p := range b.resolved.Postscripts {
		data, err := os.ReadFile(p.Value)
		if err != nil {
			return fmt.Errorf("postscript %s (from %s): %w", p.Value, p.From, err)
		}
		if err := put(PostscriptsDir+"/"+filepath.Base(p.Value), data, 0o755); err != nil {
			return fmt.Errorf("postscript %s: %w", p.Value, err)
		}
	}
	if err := put(ProfileFile, b.profileJSON, 0o644); err != nil {
		return err
	}
	for _, m := range Masked {
		if err := os.MkdirAll(filepath.Dir(b.root+m), 0o755); err != nil {
			return err
		}
		os.Remove(b.root + m)
		if err := os.Symlink("/dev/null", b.root+m); err != nil {
			return fmt.Errorf("mask %s: %w", m, err)
		}
	}
	args := append([]string{"--root=" + b.root, "enable"}, Units...)
	fmt.Fprintf(b.log, "$ %s\n", cmdline("systemctl", args...))
	if err := b.opt.Runner.Run(ctx, b.log, b.env(), "systemctl", args...); err != nil {
		return fmt.Errorf("enable %s: %w (does the profile install systemd?)", strings.Join(Units, " "), err)
	}
	return nil
}

// excludeScript removes each argument's matches, globbing inside the
// chroot (so absolute symlinks in the image resolve in the image).
const excludeScript = `IFS='
'
n=0
for p in "$@"; do
	for f in $p; do
		if [ -e "$f" ] || [ -L "$f" ]; then rm -rf -- "$f"; n=$((n+1)); fi
	done
done
echo "exclude: removed $n path(s)"
`

func (b *build) exclude(ctx context.Context) error {
	if len(b.resolved.Exclude) == 0 {
		return nil
	}
	args := []string{b.root, "/bin/sh", "-c", excludeScript, "sh"}
	for _, e := range b.resolved.Exclude {
		args = append(args, e.Value)
	}
	fmt.Fprintf(b.log, "$ chroot %s sh -c EXCLUDE %s\n", b.root, strings.Join(args[5:], " "))
	if err := b.opt.Runner.Run(ctx, b.log, b.env(), "chroot", args...); err != nil {
		return fmt.Errorf("exclude: %w", err)
	}
	return nil
}

// Scrubbed are the paths (globs) removed from every image: state that is
// per node, random, or a record of the build's own time.
var Scrubbed = []string{
	"/etc/ssh/ssh_host_*",
	"/var/lib/systemd/random-seed", "/var/lib/systemd/credential.secret", "/var/lib/dbus/machine-id",
	"/var/log/*.log", "/var/log/apt/*", "/var/log/journal/*",
	"/var/cache/ldconfig/aux-cache", "/var/cache/apt/*.bin", "/var/lib/apt/lists/*",
	"/var/cache/debconf/*-old", "/var/lib/dpkg/*-old", "/etc/*-",
	"/var/lib/systemd/catalog/database", "/tmp/*", "/var/tmp/*", "/root/.bash_history",
}

func (b *build) scrub(ctx context.Context) error {
	for _, g := range Scrubbed {
		m, err := filepath.Glob(b.root + g)
		if err != nil {
			return err
		}
		for _, p := range m {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("scrub %s: %w", p, err)
			}
			fmt.Fprintf(b.log, "scrub: removed %s\n", strings.TrimPrefix(p, b.root))
		}
	}
	// Empty: systemd makes a machine id at boot (and treats it as a first boot).
	if err := os.WriteFile(b.root+"/etc/machine-id", nil, 0o444); err != nil {
		return fmt.Errorf("scrub /etc/machine-id: %w", err)
	}
	return nil
}

type teeWriter struct {
	a, b interface{ Write([]byte) (int, error) }
}

func (t teeWriter) Write(p []byte) (int, error) {
	t.a.Write(p)
	return t.b.Write(p)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

var errNoRoot = errors.New("image build needs root (mmdebstrap root mode, chroot, owners)")
