package iscsi

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/trap/dmmap"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// fake records every Runner/Sys/Host/Storage call. File contents written
// under /etc/iscsi/nodes or holding a secret value (the initramfs's
// iscsid.conf with discovery CHAP) are kept aside and logged by size only.
type fake struct {
	mu      sync.Mutex
	root    string
	log     []string
	files   map[string]string // written files (without root)
	secrets map[string]string
	paths   []Path
	dm      map[string]string // name -> devno
	nextMin int
	mounts  []string
	failRun map[string]error // "iscsiadm -p ADDR" prefix -> error
	runs    [][]string
}

func newFake(root string) *fake {
	return &fake{root: root, files: map[string]string{}, dm: map[string]string{},
		secrets: map[string]string{"cn001-chap": "chap-secret-123", "cn001-mutual": "mutual-secret-1", "testos-luks": "luks-passphrase",
			"disco-chap": "disco-secret-1", "disco-mutual": "disco-mutual-2"},
		paths:   []Path{{"sda", "8:0", "198.18.0.1:3260"}, {"sdb", "8:16", "198.19.0.1:3260"}},
		failRun: map[string]error{}}
}

func (f *fake) rel(p string) string { return strings.TrimPrefix(p, f.root) }

func (f *fake) rec(format string, a ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, a...))
	f.mu.Unlock()
}

func (f *fake) text() string { return strings.Join(f.log, "\n") + "\n" }

func (f *fake) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	f.rec("run %s %s", name, strings.Join(args, " "))
	f.mu.Lock()
	f.runs = append(f.runs, append([]string{name}, args...))
	f.mu.Unlock()
	if name == "lvm" && len(args) > 0 && args[0] == "vgchange" {
		// lvm creates the LV maps itself.
		f.nextMin++
		f.dm["system-var"] = fmt.Sprintf("253:%d", f.nextMin-1)
	}
	line := name + " " + strings.Join(args, " ")
	for k, err := range f.failRun {
		if strings.Contains(line, k) {
			return []byte("iscsiadm: cannot make connection"), err
		}
	}
	if strings.HasPrefix(line, "iscsiadm -m discovery") {
		return []byte(args[5] + ",1 iqn.2026-11.lab.dt:other\n" + args[5] + ",1 iqn.2026-11.lab.dt:testos\n"), nil
	}
	return nil, nil
}

func (f *fake) Mount(source, target, fstype string, flags uintptr, data string) error {
	f.rec("mount %s %s %s %#x %s", f.rel(source), f.rel(target), fstype, flags, strings.ReplaceAll(data, f.root, ""))
	f.mounts = append(f.mounts, target)
	return nil
}
func (f *fake) Unmount(t string) error  { f.rec("umount %s", f.rel(t)); return nil }
func (f *fake) MkdirAll(p string) error { f.rec("mkdir %s", f.rel(p)); return nil }
func (f *fake) WriteFile(p string, data []byte, mode uint32) error {
	f.mu.Lock()
	f.files[f.rel(p)] = string(data)
	f.mu.Unlock()
	secret := strings.Contains(p, "/etc/iscsi/nodes/")
	for _, s := range f.secrets {
		secret = secret || strings.Contains(string(data), s)
	}
	if secret {
		f.rec("write %s %04o (%d bytes, secret)", f.rel(p), mode, len(data))
		return nil
	}
	f.rec("write %s %04o %q", f.rel(p), mode, data)
	return nil
}
func (f *fake) Symlink(o, n string) error    { f.rec("symlink %s -> %s", f.rel(n), o); return nil }
func (f *fake) SwitchRoot(r, i string) error { f.rec("switch_root %s %s", f.rel(r), i); return nil }

// ramroot.Host
func (f *fake) ReadFile(p string) ([]byte, error) {
	switch {
	case p == "/proc/self/mountinfo":
		var b strings.Builder
		b.WriteString("22 1 0:21 / / rw - rootfs rootfs rw\n")
		for i, m := range f.mounts {
			fmt.Fprintf(&b, "%d 22 0:%d / %s rw - fake fake rw\n", 30+i, 40+i, m)
		}
		return []byte(b.String()), nil
	case strings.HasSuffix(p, "/device/wwid"):
		f.rec("read %s", p)
		return []byte("naa.60000000000000000e00000000010001\n"), nil
	case strings.HasSuffix(p, "/size"):
		f.rec("read %s", p)
		return []byte("145408\n"), nil
	case strings.HasSuffix(p, "/disksize"):
		return []byte("0\n"), nil
	case strings.HasSuffix(p, "/sbin/init"):
		return []byte("\x7fELF"), nil
	}
	f.mu.Lock()
	data, ok := f.files[f.rel(p)]
	f.mu.Unlock()
	if ok {
		f.rec("read %s", f.rel(p))
		return []byte(data), nil
	}
	f.rec("read %s = ENOENT", f.rel(p))
	return nil, os.ErrNotExist
}
func (f *fake) Exists(p string) bool {
	ok := strings.HasSuffix(p, "/sbin/init") || strings.HasPrefix(f.rel(p), "/sys/block/zram")
	f.rec("exists %s = %v", f.rel(p), ok)
	return ok
}
func (f *fake) Remove(p string) error { f.rec("remove %s", f.rel(p)); return nil }
func (f *fake) Unpack(ctx context.Context, a, format, dir string) error {
	f.rec("unpack %s", a)
	return nil
}

// Storage
func (f *fake) Paths(target string, lun int) ([]Path, error) {
	f.rec("paths %s lun %d = %d", target, lun, len(f.paths))
	return f.paths, nil
}
func (f *fake) DMCreate(name, uuid string, ro bool, ts []dmmap.Target) error {
	var t []string
	for _, x := range ts {
		t = append(t, x.String())
	}
	f.rec("dm create %s uuid=%s ro=%v table=%q", name, uuid, ro, strings.Join(t, "; "))
	f.nextMin++
	f.dm[name] = fmt.Sprintf("253:%d", f.nextMin-1)
	return nil
}
func (f *fake) DMDevno(name string) (string, error) {
	d, ok := f.dm[name]
	if !ok {
		return "", fmt.Errorf("dm %s: no such device", name)
	}
	return d, nil
}
func (f *fake) LUKSOpen(dev string, pass []byte, name string) error {
	f.rec("luks open %s as %s (%d-byte key)", dev, name, len(pass))
	f.nextMin++
	f.dm[name] = fmt.Sprintf("253:%d", f.nextMin-1)
	zero(pass)
	return nil
}
func (f *fake) Partitions(dev string) ([]Partition, error) {
	f.rec("gpt %s", dev)
	return []Partition{{1, 2048, 98304}, {2, 100352, 43008}}, nil
}
func (f *fake) Secret(ctx context.Context, env *plan.Env, name string) ([]byte, error) {
	f.rec("secret %s", name)
	s, ok := f.secrets[name]
	if !ok {
		return nil, fmt.Errorf("404 Not Found")
	}
	return []byte(s), nil
}
func (f *fake) StartChecker(name string) { f.rec("checker %s", name) }
