package statelite

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// Sysroot is ramroot's "sysroot" step (hostname, network.env, files,
// symlinks, units) with every path resolved inside /sysroot: a litefile
// path such as /etc/hostname is an absolute link to
// /.statelite/tmpfs/etc/hostname, which must be followed within the new
// root, not in the trap's own.
type Sysroot struct {
	Sysroot ramroot.Sysroot
}

func (s *Sysroot) Name() string { return s.Sysroot.Name() }
func (s *Sysroot) String() string {
	return s.Sysroot.String() + " (links followed inside " + ramroot.NewRoot + ")"
}

func (s *Sysroot) Run(ctx context.Context, env *plan.Env) error {
	e := *env
	e.Sys = &rootedSys{Sys: env.Sys, host: host(env), root: s.Sysroot.Root + ramroot.NewRoot}
	return s.Sysroot.Run(ctx, &e)
}

// rootedSys resolves paths under root as if root were "/" before passing
// them on.
type rootedSys struct {
	plan.Sys
	host ramroot.Host
	root string
}

func (r *rootedSys) in(p string, followLast bool) string {
	q, err := resolveIn(r.root, p, followLast)
	if err != nil {
		return p // the call itself reports the problem
	}
	return q
}

func (r *rootedSys) MkdirAll(p string) error { return r.Sys.MkdirAll(r.in(p, true)) }
func (r *rootedSys) WriteFile(p string, data []byte, mode uint32) error {
	return r.Sys.WriteFile(r.in(p, true), data, mode)
}
func (r *rootedSys) Symlink(oldname, newname string) error {
	return r.Sys.Symlink(oldname, r.in(newname, false))
}
func (r *rootedSys) ReadFile(p string) ([]byte, error) { return r.host.ReadFile(r.in(p, true)) }
func (r *rootedSys) Exists(p string) bool              { return r.host.Exists(r.in(p, false)) }
func (r *rootedSys) Remove(p string) error             { return r.host.Remove(r.in(p, false)) }
func (r *rootedSys) Unpack(ctx context.Context, archive, format, dir string) error {
	return r.host.Unpack(ctx, archive, format, r.in(dir, true))
}

// resolveIn resolves the symbolic links of p (a path under root) as if
// root were "/": absolute link targets start again at root, ".." stops at
// root. The last element is followed only with followLast.
func resolveIn(root, p string, followLast bool) (string, error) {
	if p != root && !strings.HasPrefix(p, root+"/") {
		return p, nil
	}
	rest := strings.Split(strings.TrimPrefix(p, root), "/")
	cur := ""
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir("/" + cur)
			if cur == "/" {
				cur = ""
			}
			continue
		}
		next := cur + "/" + c
		fi, err := os.Lstat(root + next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || (len(rest) == 0 && !followLast) {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		t, err := os.Readlink(root + next)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(t, "/") {
			cur = ""
		}
		rest = append(strings.Split(t, "/"), rest...)
	}
	return root + cur, nil
}
