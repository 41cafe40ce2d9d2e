package hostsys

import (
	"errors"
	"io/fs"
	"os"
	"path"

	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// OpenTree opens dir as a plan.Tree confined with os.OpenRoot: every
// lookup goes one path element at a time below dir, so an image's
// absolute symlinks or ".." cannot take a write into the initramfs.
func (Sys) OpenTree(dir string) (plan.Tree, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &tree{r}, nil
}

type tree struct{ r *os.Root }

// rel turns a name inside the tree ("/etc/hostname") into a Root name.
func rel(name string) string {
	if c := path.Clean("/" + name); c != "/" {
		return c[1:]
	}
	return "."
}

func (t *tree) MkdirAll(name string) error {
	return t.r.MkdirAll(rel(name), 0o755) // errors name the path
}

func (t *tree) WriteFile(name string, data []byte, mode uint32) error {
	f, err := t.r.OpenFile(rel(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(mode&0o777))
	if err != nil {
		return err
	}
	return fill(f, name, data, mode)
}

func (t *tree) Symlink(target, name string) error {
	return t.r.Symlink(target, rel(name))
}

func (t *tree) Remove(name string) error {
	if err := t.r.Remove(rel(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (t *tree) Exists(name string) bool {
	_, err := t.r.Lstat(rel(name))
	return err == nil
}

func (t *tree) ReadFile(name string) ([]byte, error) { return t.r.ReadFile(rel(name)) }

func (t *tree) Close() error { return t.r.Close() }
