package install

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// fake is a recording plan.Runner + plan.Sys + Host: every call is a line
// of text; a mount table backs /proc/self/mountinfo; sgdisk makes the
// partition nodes appear; blkid answers UUIDs; out[name] fails or answers
// a command.
type fake struct {
	mu       sync.Mutex
	log      []string
	exists   map[string]bool
	dirs     map[string][]string
	mounts   [][3]string // source, target, fstype
	fail     map[string]error
	out      map[string]string
	rebooted bool
}

func newFake() *fake {
	return &fake{exists: map[string]bool{}, dirs: map[string][]string{}, fail: map[string]error{}, out: map[string]string{}}
}

func (f *fake) record(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
}

func (f *fake) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log, "\n") + "\n"
}

func (f *fake) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	f.record("run %s %s", name, strings.Join(args, " "))
	f.mu.Lock()
	defer f.mu.Unlock()
	switch name {
	case "sgdisk":
		if dev := args[len(args)-1]; !strings.HasPrefix(dev, "--") && len(args) > 2 {
			for _, n := range []int{PartBIOS, PartESP, PartRoot} {
				f.exists[fmt.Sprintf("%s%d", dev, n)] = true
			}
		}
	case "blkid":
		dev := args[len(args)-1]
		return []byte(fmt.Sprintf("DEVNAME=%s\nUUID=%s\nTYPE=x\n", dev, map[string]string{
			"/dev/vda2": "ABCD-1234", "/dev/vda3": "11111111-2222-3333-4444-555555555555"}[dev])), nil
	case "losetup":
		if args[0] == "-f" {
			return []byte("/dev/loop0\n"), nil
		}
	}
	if err := f.fail[name]; err != nil {
		return []byte(f.out[name]), err
	}
	return []byte(f.out[name]), nil
}

func (f *fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	f.record("mount %s %s %s %#x %s", source, target, fstype, flags, data)
	f.mu.Lock()
	defer f.mu.Unlock()
	if fstype == "" {
		fstype = "none"
	}
	f.mounts = append(f.mounts, [3]string{source, target, fstype})
	return nil
}

func (f *fake) Unmount(target string) error {
	f.record("umount %s", target)
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := len(f.mounts) - 1; i >= 0; i-- {
		if f.mounts[i][1] == target {
			f.mounts = append(f.mounts[:i], f.mounts[i+1:]...)
			return nil
		}
	}
	return fmt.Errorf("umount %s: not mounted", target)
}

func (f *fake) MkdirAll(p string) error { return nil }

func (f *fake) WriteFile(p string, data []byte, mode uint32) error {
	if strings.HasSuffix(p, ".cfg") || strings.HasSuffix(p, "fstab") || strings.HasSuffix(p, ".sh") {
		f.record("write %s %#o:\n%s", p, mode, strings.TrimRight(string(data), "\n"))
	} else {
		f.record("write %s %#o (%d bytes)", p, mode, len(data))
	}
	return nil
}

func (f *fake) Symlink(oldname, newname string) error {
	f.record("symlink %s -> %s", newname, oldname)
	return nil
}

func (f *fake) SwitchRoot(newRoot, init string) error { return fmt.Errorf("no switch_root in install") }

func (f *fake) ReadFile(p string) ([]byte, error) {
	if p != "/proc/self/mountinfo" {
		return nil, fmt.Errorf("read %s: not in the fake", p)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var b strings.Builder
	for i, m := range f.mounts {
		fmt.Fprintf(&b, "%d 1 0:%d / %s rw - %s %s rw\n", 100+i, i, m[1], m[2], m[0])
	}
	return []byte(b.String()), nil
}

func (f *fake) Exists(p string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exists[p]
}

func (f *fake) Remove(p string) error { f.record("remove %s", p); return nil }

func (f *fake) Unpack(ctx context.Context, archive, format, dir string) error {
	f.record("unpack %s %s into %s", format, archive, dir)
	return nil
}

func (f *fake) ReadDir(p string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	names := append([]string(nil), f.dirs[p]...)
	sort.Strings(names)
	return names, nil
}

func (f *fake) CountTree(dir string) (int, error) {
	f.record("count %s", dir)
	return 913, nil
}

func (f *fake) Reboot() error {
	f.record("reboot")
	f.mu.Lock()
	f.rebooted = true
	f.mu.Unlock()
	return nil
}

// disks is a probe fixture.
func disks(ds ...manifest.HardwareDisk) Prober {
	return func(string) []manifest.HardwareDisk { return ds }
}
