// Package imagelite prepares an image root folder for statelite as xCAT's
// liteimg does: for every litefile path P the image's original moves to
// /.default/P, and two links lead to it:
//
//	/P -> /.statelite/tmpfs/P -> /.default/P
//
// At boot the agent mounts a tmpfs over /.statelite and puts the node's
// version of P at /.statelite/tmpfs/P (package trap/statelite); on the
// server, or in a chroot, the links still reach the original.
//
// Prepare is repeatable: paths already prepared are left alone, and paths
// no longer in the rules are put back (/.default/P returns to /P). The
// prepared paths are listed in /.statelite/liteimg.list. Every rule is
// checked against the tree before anything changes: a rule without the
// trailing / where the image has a folder (or the reverse) is refused
// with the rule's file:line, and the tree is left untouched.
package imagelite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Rule is a litefile rule with where it was written (for errors).
type Rule struct {
	manifest.LiteFile
	File string
	Line int
}

func (r Rule) where() string {
	if r.File == "" {
		return "litefile " + r.Path
	}
	return fmt.Sprintf("%s:%d: litefile %s", r.File, r.Line, r.Path)
}

// ListFile records the prepared paths (one per line) in the image root.
const ListFile = "/.statelite/liteimg.list"

// Result says what Prepare changed.
type Result struct {
	Prepared []string // newly moved to /.default and linked
	Kept     []string // already prepared
	Restored []string // rules removed: put back from /.default
}

// Prepare applies rules to the image root folder root.
func Prepare(root string, rules []Rule) (Result, error) {
	var res Result
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return res, fmt.Errorf("image root %s: not a folder", root)
	}
	want := map[string]Rule{}
	for _, r := range rules {
		if err := manifest.CheckLitePath(r.Path); err != nil {
			return res, fmt.Errorf("%s: %w", r.where(), err)
		}
		if err := check(root, r); err != nil {
			return res, err
		}
		want[rel(r.Path)] = r
	}
	prev, err := readList(root)
	if err != nil {
		return res, err
	}
	for _, p := range prev {
		if _, ok := want[p]; ok {
			continue
		}
		if err := restore(root, p); err != nil {
			return res, err
		}
		res.Restored = append(res.Restored, "/"+p)
	}
	var done []string
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, p := range keys {
		kept, err := prepare(root, p)
		if err != nil {
			return res, fmt.Errorf("%s: %w", want[p].where(), err)
		}
		if kept {
			res.Kept = append(res.Kept, "/"+p)
		} else {
			res.Prepared = append(res.Prepared, "/"+p)
		}
		done = append(done, p)
	}
	return res, writeList(root, done)
}

func rel(p string) string { return strings.Trim(p, "/") }

func linkTarget(p string) string { return "/.statelite/tmpfs/" + p }

// check refuses a rule whose folder-ness differs from the image's.
func check(root string, r Rule) error {
	p := rel(r.Path)
	orig := filepath.Join(root, p)
	if t, err := os.Readlink(orig); err == nil && t == linkTarget(p) {
		orig = filepath.Join(root, ".default", p) // prepared before
	}
	fi, err := os.Stat(orig)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", r.where(), err)
	}
	switch {
	case fi.IsDir() && !r.IsFolder():
		return fmt.Errorf("%s: the image has a folder there: write the rule as %s/", r.where(), r.Path)
	case !fi.IsDir() && r.IsFolder():
		return fmt.Errorf("%s: the image has a file there, not a folder: write the rule without the trailing /", r.where())
	}
	return nil
}

// prepare moves /p to /.default/p and makes the two links; kept says it
// was prepared already.
func prepare(root, p string) (kept bool, err error) {
	orig := filepath.Join(root, p)
	def := filepath.Join(root, ".default", p)
	mid := filepath.Join(root, ".statelite", "tmpfs", p)
	if t, err := os.Readlink(orig); err == nil && t == linkTarget(p) {
		kept = true
	} else if _, err := os.Lstat(orig); err == nil {
		if err := os.MkdirAll(filepath.Dir(def), 0o755); err != nil {
			return false, err
		}
		if err := os.RemoveAll(def); err != nil {
			return false, err
		}
		if err := os.Rename(orig, def); err != nil {
			return false, err
		}
	}
	if _, err := os.Lstat(def); err == nil {
		if err := relink(mid, "/.default/"+p); err != nil {
			return false, err
		}
	}
	return kept, relink(orig, linkTarget(p))
}

// relink makes at a symlink to target (replacing what is there).
func relink(at, target string) error {
	if t, err := os.Readlink(at); err == nil && t == target {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(at), 0o755); err != nil {
		return err
	}
	if err := os.RemoveAll(at); err != nil {
		return err
	}
	return os.Symlink(target, at)
}

// restore puts /.default/p back at /p and removes the links.
func restore(root, p string) error {
	orig := filepath.Join(root, p)
	def := filepath.Join(root, ".default", p)
	if t, err := os.Readlink(orig); err == nil && t == linkTarget(p) {
		if err := os.Remove(orig); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(root, ".statelite", "tmpfs", p)); err != nil {
		return err
	}
	if _, err := os.Lstat(def); err == nil {
		if _, err := os.Lstat(orig); err == nil {
			return fmt.Errorf("restore /%s: the image has /%s again; remove one of /%s and /.default/%s", p, p, p, p)
		}
		return os.Rename(def, orig)
	}
	return nil
}

func readList(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, ListFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && manifest.CheckLitePath("/"+l) == nil {
			out = append(out, l)
		}
	}
	return out, nil
}

func writeList(root string, paths []string) error {
	for _, d := range []string{".statelite/tmpfs", ".default"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	text := ""
	for _, p := range paths {
		text += p + "\n"
	}
	return os.WriteFile(filepath.Join(root, ListFile), []byte(text), 0o644)
}
