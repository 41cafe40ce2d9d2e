package ramroot

import (
	"fmt"
	"path"
	"strings"
)

// Readlinker is implemented by a Host that can read symlinks (hostsys.Sys).
type Readlinker interface {
	Readlink(path string) (string, error)
}

// maxLinks bounds the symlinks followed resolving one path (as Linux's 40).
const maxLinks = 40

// InRoot returns root+p with every symlink on the way resolved as the new
// root will see it after switch_root: an absolute target is taken inside
// root, not in the initramfs (Debian's /sbin/init -> /lib/systemd/systemd
// under merged /usr). Without a Readlinker it returns root+p.
func InRoot(h Host, root, p string) (string, error) {
	rl, ok := h.(Readlinker)
	if !ok {
		return root + p, nil
	}
	todo := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	cur := "/"
	links := 0
	for len(todo) > 0 {
		name := todo[0]
		todo = todo[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, name)
		target, err := rl.Readlink(root + next)
		if err != nil {
			cur = next // not a symlink (or missing: the caller's read says so)
			continue
		}
		if links++; links > maxLinks {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = append(strings.Split(strings.Trim(target, "/"), "/"), todo...)
	}
	return root + cur, nil
}
