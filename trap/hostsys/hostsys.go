// Package hostsys is the real implementation of the plan seams (plan.Runner
// and plan.Sys, plus the ramroot.Host extras): outside commands through
// os/exec, mounts through golang.org/x/sys/unix, switch_root through u-root.
//
// The agent passes Runner{} and Sys{} in its plan.Env; tests pass
// recording fakes instead.
package hostsys

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/u-root/u-root/pkg/mount"
	"golang.org/x/sys/unix"
)

// Runner runs outside commands.
type Runner struct{}

// Run runs name with args and returns its combined output. A failure
// names the command and carries its output.
func (Runner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return out, nil
}

// Sys makes system calls on the real host.
type Sys struct{}

// Mount mounts source on target.
func (Sys) Mount(source, target, fstype string, flags uintptr, data string) error {
	if err := unix.Mount(source, target, fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on %s (%s): %w", source, target, fstype, err)
	}
	return nil
}

// Unmount unmounts target.
func (Sys) Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

// MkdirAll creates path and its parents (mode 0755).
func (Sys) MkdirAll(path string) error {
	return os.MkdirAll(path, 0o755)
}

// WriteFile writes data to path, creating it with mode. A non-zero mode is
// also applied to an existing regular file; mode 0 leaves the mode alone
// (sysfs attributes, /proc files).
func (Sys) WriteFile(path string, data []byte, mode uint32) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(mode&0o777))
	if err != nil {
		return err
	}
	return fill(f, path, data, mode)
}

// fill writes data to the opened f, applies a non-zero mode and closes f.
func fill(f *os.File, path string, data []byte, mode uint32) error {
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if mode != 0 {
		if err := f.Chmod(fs.FileMode(mode&0o777) | unixSpecial(mode)); err != nil {
			f.Close()
			return fmt.Errorf("chmod %s: %w", path, err)
		}
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func unixSpecial(mode uint32) fs.FileMode {
	var m fs.FileMode
	if mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

// Symlink creates newname pointing to oldname.
func (Sys) Symlink(oldname, newname string) error {
	return os.Symlink(oldname, newname)
}

// SwitchRoot moves /dev, /proc, /sys and /run into newRoot, makes it the
// root, deletes the old root's files and execs init with no arguments
// and an empty environment (u-root pkg/mount.SwitchRoot). It only returns
// on failure.
func (Sys) SwitchRoot(newRoot, init string) error {
	return mount.SwitchRoot(newRoot, init)
}

// ReadFile reads a whole file.
func (Sys) ReadFile(path string) ([]byte, error) {
	return os.ReadFile(path)
}

// Readlink returns a symlink's target.
func (Sys) Readlink(path string) (string, error) {
	return os.Readlink(path)
}

// Exists reports whether path exists (lstat: a dangling symlink exists).
func (Sys) Exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// Remove removes path; a missing path is not an error.
func (Sys) Remove(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
