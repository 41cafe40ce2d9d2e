package ramroot

import (
	"context"
	"fmt"
	"os"

	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// fake is a recording plan.Runner + plan.Sys + Host. Paths under root are
// recorded without the root prefix. It keeps a mount table so
// /proc/self/mountinfo reflects the mounts made, and answers ReadFile from
// files, Exists from exists, Run from out (keyed by command name).
type fake struct {
	mu      sync.Mutex
	root    string
	log     []string
	files   map[string]string // path (without root) -> content
	exists  map[string]bool   // path (without root)
	out     map[string][]string
	mounts  []string // targets (with root)
	failOn  string   // a call prefix that returns an error
	hotNext int
}

func newFake(root string) *fake {
	return &fake{root: root, files: map[string]string{}, exists: map[string]bool{}, out: map[string][]string{}}
}

func (f *fake) rel(p string) string {
	if f.root != "" && strings.HasPrefix(p, f.root) {
		return strings.TrimPrefix(p, f.root)
	}
	return p
}

func (f *fake) record(format string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	line := fmt.Sprintf(format, args...)
	f.log = append(f.log, line)
	if f.failOn != "" && strings.HasPrefix(line, f.failOn) {
		return fmt.Errorf("fake failure on %q", line)
	}
	return nil
}

func (f *fake) text() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.log, "\n") + "\n"
}

func (f *fake) reset() {
	f.mu.Lock()
	f.log = nil
	f.mu.Unlock()
}

func (f *fake) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	rel := make([]string, len(args))
	for i, a := range args {
		rel[i] = f.rel(a)
	}
	if err := f.record("run %s %s", name, strings.Join(rel, " ")); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if outs := f.out[name]; len(outs) > 0 {
		o := outs[0]
		f.out[name] = outs[1:]
		return []byte(o), nil
	}
	return nil, nil
}

func flagText(flags uintptr) string {
	var s []string
	if flags&unix.MS_RDONLY != 0 {
		s = append(s, "ro")
	}
	if flags&unix.MS_BIND != 0 {
		s = append(s, "bind")
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func (f *fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	if fstype == "" {
		fstype = "-"
	}
	if data == "" {
		data = "-"
	}
	if err := f.record("mount %s %s %s %s %s", f.rel(source), f.rel(target), fstype, flagText(flags), strings.ReplaceAll(data, f.root, "")); err != nil {
		return err
	}
	f.mu.Lock()
	f.mounts = append(f.mounts, target)
	f.mu.Unlock()
	return nil
}

func (f *fake) Unmount(target string) error { return f.record("umount %s", f.rel(target)) }

func (f *fake) MkdirAll(p string) error {
	if err := f.record("mkdir %s", f.rel(p)); err != nil {
		return err
	}
	if f.root != "" && strings.HasPrefix(p, f.root) {
		return os.MkdirAll(p, 0o755) // the fetch step writes its file for real
	}
	return nil
}

func (f *fake) WriteFile(p string, data []byte, mode uint32) error {
	if err := f.record("write %s %04o %q", f.rel(p), mode, data); err != nil {
		return err
	}
	f.mu.Lock()
	f.exists[f.rel(p)] = true
	f.mu.Unlock()
	return nil
}

func (f *fake) Symlink(oldname, newname string) error {
	return f.record("symlink %s -> %s", f.rel(newname), oldname)
}

func (f *fake) SwitchRoot(newRoot, init string) error {
	return f.record("switch_root %s %s", f.rel(newRoot), init)
}

func (f *fake) ReadFile(p string) ([]byte, error) {
	if p == "/proc/self/mountinfo" {
		f.mu.Lock()
		defer f.mu.Unlock()
		var b strings.Builder
		b.WriteString("22 1 0:21 / / rw,relatime - rootfs rootfs rw\n")
		for i, m := range f.mounts {
			fmt.Fprintf(&b, "%d 22 0:%d / %s rw,relatime - fake fake rw\n", 30+i, 40+i, strings.ReplaceAll(m, " ", `\040`))
		}
		return []byte(b.String()), nil
	}
	if p == "/sys/class/zram-control/hot_add" {
		f.mu.Lock()
		n := f.hotNext
		f.hotNext++
		f.files[fmt.Sprintf("/sys/block/zram%d/disksize", n)] = "0\n"
		f.mu.Unlock()
		_ = f.record("read %s = %d", p, n)
		return []byte(fmt.Sprintf("%d\n", n)), nil
	}
	f.mu.Lock()
	c, ok := f.files[f.rel(p)]
	f.mu.Unlock()
	if !ok {
		_ = f.record("read %s = ENOENT", f.rel(p))
		return nil, os.ErrNotExist
	}
	_ = f.record("read %s = %q", f.rel(p), strings.TrimSpace(c))
	return []byte(c), nil
}

func (f *fake) Exists(p string) bool {
	f.mu.Lock()
	ok := f.exists[f.rel(p)]
	f.mu.Unlock()
	_ = f.record("exists %s = %v", f.rel(p), ok)
	return ok
}

func (f *fake) Remove(p string) error { return f.record("remove %s", f.rel(p)) }

func (f *fake) Unpack(ctx context.Context, archive, format, dir string) error {
	return f.record("unpack %s %s into %s", format, f.rel(archive), f.rel(dir))
}

func (f *fake) existing(paths ...string) {
	for _, p := range paths {
		f.exists[p] = true
		if _, ok := f.files[p]; !ok {
			f.files[p] = ""
		}
	}
}
