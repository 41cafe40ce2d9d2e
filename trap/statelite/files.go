package statelite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// LogFile is the materialization log in the new root: one line per path,
// "PATH OPTION SOURCE RESULT".
const LogFile = LiteDir + "/statelite.log"

// Files is the "statelite files" step. For every rule, with P the path:
//
//   - the origin is the first litetree source that has P, else the image's
//     original (/.default/P as `trapctl image lite` left it, else P in the
//     image itself);
//   - tmpfs: a private copy of the origin at /.statelite/tmpfs/P (empty if
//     there is none), made anew at every boot;
//   - con: the concatenation of P from every source that has it, in
//     priority order (the image's original when none has);
//   - persistent (persistent,con): /.statelite/persistent/NODE/P, created
//     from the origin (the concatenation) when missing, kept otherwise;
//     /.statelite/tmpfs/P links to it;
//   - ro: the origin bound read-only at /.statelite/tmpfs/P;
//
// and /P in the new root links to /.statelite/tmpfs/P (already so in an
// image prepared by `trapctl image lite`; otherwise the link is made in
// the overlay's upper layer, so rules need no image change). A rule
// without the trailing / where the origin is a folder (or the reverse)
// fails, naming the rule.
type Files struct {
	Rules   []manifest.LiteFile
	Sources []string
	Store   string
	Node    string
	Root    string
}

func (s *Files) Name() string { return "statelite files" }

// String lists each rule with where its content comes from: the actual
// origin once the sources are mounted (`trap plan` in the trap after
// `trap statelite litetree`), else the candidates in order.
func (s *Files) String() string {
	if len(s.Rules) == 0 {
		return "no litefile rules: the whole root stays read-only; log " + LogFile
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d rule(s), log %s:", len(s.Rules), LogFile)
	for _, r := range s.Rules {
		fmt.Fprintf(&b, "\n      %s %s <- %s", r.Path, r.Option, s.describe(r))
	}
	return b.String()
}

func (s *Files) describe(r manifest.LiteFile) string {
	rel := strings.Trim(r.Path, "/")
	if !s.sourcesMounted() {
		var cands []string
		for i, src := range s.Sources {
			cands = append(cands, fmt.Sprintf("%s (%s)", src, MntDir(i)))
		}
		cands = append(cands, "image /.default")
		return "first of " + strings.Join(cands, ", ")
	}
	all, def, err := s.origins(rel)
	if err != nil {
		return "error: " + err.Error()
	}
	switch {
	case r.Concatenated() && len(all) > 0:
		var labels []string
		for _, o := range all {
			labels = append(labels, o.label)
		}
		return "concatenation of " + strings.Join(labels, " + ")
	case len(all) > 0:
		return all[0].label
	case def != nil:
		return def.label
	}
	return "nowhere (created empty)"
}

// sourcesMounted reports whether the root and every litetree source are mounted (read
// from the agent's own /proc/self/mountinfo).
func (s *Files) sourcesMounted() bool {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	mi, err := ramroot.ParseMountinfo(b)
	if err != nil {
		return false
	}
	have := map[string]bool{}
	for _, m := range mi {
		have[m.MountPoint] = true
	}
	for i := range s.Sources {
		if !have[s.Root+ramroot.NewRoot+MntDir(i)] {
			return false
		}
	}
	return have[s.Root+ramroot.LowerDir]
}

// origin is one place a path's content can come from.
type origin struct {
	label string // the export, or "image /.default", "image"
	path  string // host path
	dir   bool
}

// origins returns the sources that have rel, in priority order, and the
// image's original.
func (s *Files) origins(rel string) (all []origin, def *origin, err error) {
	newRoot := s.Root + ramroot.NewRoot
	for i, src := range s.Sources {
		p := newRoot + MntDir(i) + "/" + rel
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("litetree source %s: %w", src, err)
		}
		all = append(all, origin{label: src, path: p, dir: fi.IsDir()})
	}
	lower := s.Root + ramroot.LowerDir
	if fi, err := os.Lstat(lower + "/.default/" + rel); err == nil {
		def = &origin{label: "image /.default", path: lower + "/.default/" + rel, dir: fi.IsDir()}
	} else if fi, err := os.Lstat(lower + "/" + rel); err == nil {
		if t, lerr := os.Readlink(lower + "/" + rel); lerr == nil && t == LiteDir+"/tmpfs/"+rel {
			return all, nil, nil // prepared by image lite, without an original
		}
		def = &origin{label: "image", path: lower + "/" + rel, dir: fi.IsDir()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if st, err := os.Stat(def.path); err == nil {
				def.dir = st.IsDir()
			}
		}
	}
	return all, def, nil
}

// Run implements plan.Step.
func (s *Files) Run(ctx context.Context, env *plan.Env) error {
	var log strings.Builder
	for _, r := range s.Rules {
		src, result, err := s.materialize(env, r)
		if err != nil {
			fmt.Fprintf(&log, "%s %s %s error: %v\n", r.Path, r.Option, orDash(src), err)
			s.writeLog(log.String())
			return fmt.Errorf("litefile %s (%s): %w", r.Path, r.Option, err)
		}
		fmt.Fprintf(&log, "%s %s %s %s\n", r.Path, r.Option, orDash(src), result)
	}
	return s.writeLog(log.String())
}

func (s *Files) writeLog(text string) error {
	p := s.Root + ramroot.NewRoot + LogFile
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", LogFile, err)
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// materialize applies one rule; it returns the source label and what
// was done.
func (s *Files) materialize(env *plan.Env, r manifest.LiteFile) (string, string, error) {
	rel := strings.Trim(r.Path, "/")
	folder := r.IsFolder()
	all, def, err := s.origins(rel)
	if err != nil {
		return "", "", err
	}
	for _, o := range append(all, derefOrigin(def)...) {
		if o.dir && !folder {
			return o.label, "", fmt.Errorf("%s has a folder at %s: write the rule as %s/", o.label, r.Path, r.Path)
		}
		if !o.dir && folder {
			return o.label, "", fmt.Errorf("%s has a file at %s, not a folder: write the rule without the trailing /", o.label, strings.TrimSuffix(r.Path, "/"))
		}
	}
	first := def
	if len(all) > 0 {
		first = &all[0]
	}
	newRoot := s.Root + ramroot.NewRoot
	dst := newRoot + LiteDir + "/tmpfs/" + rel
	if ok, err := mounted(env, dst); err != nil {
		return "", "", err
	} else if ok {
		return labelOf(first), "already bound", s.link(rel)
	}
	if err := os.RemoveAll(dst); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(path.Dir(dst), 0o755); err != nil {
		return "", "", err
	}
	label, result := labelOf(first), ""
	switch r.Option {
	case manifest.LiteTmpfs:
		result, err = fill(dst, first, folder)
	case manifest.LiteCon:
		label, result, err = concat(dst, all, def)
	case manifest.LitePersistent, manifest.LitePersistentCon:
		label, result, err = s.persistent(r, rel, dst, all, def, first)
	case manifest.LiteRO:
		if first == nil {
			return "", "", fmt.Errorf("ro: no litetree source has it and the image has no original")
		}
		if result, err = fill(dst, nil, folder); err == nil {
			result = "bound read-only"
			if err = env.Sys.Mount(first.path, dst, "", unix.MS_BIND, ""); err == nil {
				err = env.Sys.Mount("", dst, "", unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY, "")
			}
		}
	default:
		err = fmt.Errorf("unknown option %q", r.Option)
	}
	if err != nil {
		return label, "", err
	}
	return label, result, s.link(rel)
}

func derefOrigin(o *origin) []origin {
	if o == nil {
		return nil
	}
	return []origin{*o}
}

func labelOf(o *origin) string {
	if o == nil {
		return ""
	}
	return o.label
}

// persistent keeps the rule's data in the node's folder of the store.
func (s *Files) persistent(r manifest.LiteFile, rel, dst string, all []origin, def, first *origin) (string, string, error) {
	if s.Store == "" {
		return "", "", fmt.Errorf("no persistent store (the node's statelite attribute)")
	}
	home := s.Root + ramroot.NewRoot + PersistentDir + "/" + s.Node
	if _, err := os.Stat(home); err != nil {
		return "", "", fmt.Errorf("persistent store %s not ready (run trap statelite store): %w", s.Store, err)
	}
	kept := home + "/" + rel
	label, result := "store "+s.Store, "kept"
	if _, err := os.Lstat(kept); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(path.Dir(kept), 0o755); err != nil {
			return "", "", err
		}
		var how string
		if r.Concatenated() {
			label, how, err = concat(kept, all, def)
		} else {
			label, how, err = labelOf(first), "", nil
			how, err = fill(kept, first, r.IsFolder())
		}
		if err != nil {
			return label, "", err
		}
		result = "created in the store: " + how
	} else if err != nil {
		return "", "", err
	}
	target := PersistentDir + "/" + s.Node + "/" + rel
	return label, result, os.Symlink(target, dst)
}

// link makes /P in the new root point at /.statelite/tmpfs/P.
func (s *Files) link(rel string) error {
	p := s.Root + ramroot.NewRoot + "/" + rel
	want := LiteDir + "/tmpfs/" + rel
	if t, err := os.Readlink(p); err == nil && t == want {
		return nil
	}
	if err := os.RemoveAll(p); err != nil {
		return fmt.Errorf("replace /%s with a link: %w", rel, err)
	}
	if err := os.MkdirAll(path.Dir(p), 0o755); err != nil {
		return err
	}
	return os.Symlink(want, p)
}
