package statelite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// fake is a recording plan.Runner + plan.Sys + ramroot.Host. Directories
// and files are made for real under root (the files step works on them);
// mounts are recorded and answered in /proc/self/mountinfo.
type fake struct {
	mu     sync.Mutex
	root   string
	log    []string
	mounts []string
}

func (f *fake) rel(p string) string { return strings.ReplaceAll(p, f.root, "") }

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
	f.record("run %s %s", name, f.rel(strings.Join(args, " ")))
	if name == "losetup" {
		return []byte("/dev/loop0\n"), nil
	}
	return nil, nil
}

func flagText(flags uintptr) string {
	var s []string
	for _, fl := range []struct {
		bit  uintptr
		name string
	}{{unix.MS_REMOUNT, "remount"}, {unix.MS_BIND, "bind"}, {unix.MS_RDONLY, "ro"}} {
		if flags&fl.bit != 0 {
			s = append(s, fl.name)
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func (f *fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	f.record("mount %s %s %s %s %s", orDash(f.rel(source)), f.rel(target), orDash(fstype), flagText(flags), orDash(f.rel(data)))
	if flags&unix.MS_REMOUNT == 0 {
		f.mu.Lock()
		f.mounts = append(f.mounts, target)
		f.mu.Unlock()
	}
	return nil
}

func (f *fake) Unmount(target string) error { f.record("umount %s", f.rel(target)); return nil }

func (f *fake) MkdirAll(p string) error {
	f.record("mkdir %s", f.rel(p))
	return os.MkdirAll(p, 0o755)
}

func (f *fake) WriteFile(p string, data []byte, mode uint32) error {
	f.record("write %s %q", f.rel(p), data)
	return os.WriteFile(p, data, os.FileMode(mode))
}

func (f *fake) Symlink(oldname, newname string) error {
	f.record("symlink %s -> %s", f.rel(newname), oldname)
	return os.Symlink(oldname, newname)
}

func (f *fake) SwitchRoot(newRoot, init string) error {
	f.record("switch_root %s %s", f.rel(newRoot), init)
	return nil
}

func (f *fake) ReadFile(p string) ([]byte, error) {
	if p == "/proc/self/mountinfo" {
		f.mu.Lock()
		defer f.mu.Unlock()
		var b strings.Builder
		for i, m := range f.mounts {
			fmt.Fprintf(&b, "%d 1 0:1 / %s rw - fake fake rw\n", i+10, m)
		}
		return []byte(b.String()), nil
	}
	return os.ReadFile(p)
}

func (f *fake) Exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func (f *fake) Remove(p string) error {
	f.record("rm %s", f.rel(p))
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}

func (f *fake) Unpack(ctx context.Context, archive, format, dir string) error {
	return fmt.Errorf("unpack not expected")
}
