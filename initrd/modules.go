package initrd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// ModuleDeps is a parsed modules.dep: module files (relative to
// lib/modules/KVER) and the files each one depends on.
type ModuleDeps struct {
	order  []string            // module files in file order
	deps   map[string][]string // module file -> dependency files
	byName map[string]string   // normalized module name -> module file
}

// ModuleName returns the kernel's name for a module file or name:
// the base name without .ko and compression suffixes, with '-' as '_'.
func ModuleName(file string) string {
	n := path.Base(file)
	for _, suf := range []string{".gz", ".xz", ".zst"} {
		n = strings.TrimSuffix(n, suf)
	}
	n = strings.TrimSuffix(n, ".ko")
	return strings.ReplaceAll(n, "-", "_")
}

// ParseModulesDep parses the modules.dep format written by depmod:
// one "path: dep dep ..." line per module; blank lines and '#' comments
// are ignored.
func ParseModulesDep(r io.Reader) (*ModuleDeps, error) {
	md := &ModuleDeps{deps: map[string][]string{}, byName: map[string]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		txt := strings.TrimSpace(sc.Text())
		if txt == "" || strings.HasPrefix(txt, "#") {
			continue
		}
		file, rest, ok := strings.Cut(txt, ":")
		file = strings.TrimSpace(file)
		if !ok || file == "" {
			return nil, fmt.Errorf("modules.dep line %d: %q: want \"module: deps\"", line, txt)
		}
		if err := checkModPath(file); err != nil {
			return nil, fmt.Errorf("modules.dep line %d: %w", line, err)
		}
		deps := strings.Fields(rest)
		for _, d := range deps {
			if err := checkModPath(d); err != nil {
				return nil, fmt.Errorf("modules.dep line %d: %w", line, err)
			}
		}
		if _, dup := md.deps[file]; dup {
			return nil, fmt.Errorf("modules.dep line %d: module %s listed twice", line, file)
		}
		md.order = append(md.order, file)
		md.deps[file] = deps
		if _, seen := md.byName[ModuleName(file)]; !seen {
			md.byName[ModuleName(file)] = file
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.dep line %d: %w", line+1, err)
	}
	return md, nil
}

// checkModPath rejects paths that would escape lib/modules/KVER.
func checkModPath(p string) error {
	if path.IsAbs(p) || p != path.Clean(p) || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("module path %q is not a clean relative path", p)
	}
	return nil
}

// Len returns the number of modules listed.
func (md *ModuleDeps) Len() int { return len(md.order) }

// File returns the module file for a module name ('-' and '_' are the same).
func (md *ModuleDeps) File(name string) (string, bool) {
	f, ok := md.byName[ModuleName(name)]
	return f, ok
}

// ErrModuleNotFound is wrapped by Resolve for a name modules.dep lacks.
var ErrModuleNotFound = errors.New("not found")

// Resolve returns the module files for names and everything they depend on,
// transitively, sorted. Names listed in builtin (module names, see
// ModuleName) are skipped and returned separately.
func (md *ModuleDeps) Resolve(names []string, builtin map[string]bool) (files, builtins []string, err error) {
	seen := map[string]bool{}
	var visit func(file, via string) error
	visit = func(file, via string) error {
		if seen[file] {
			return nil
		}
		deps, ok := md.deps[file]
		if !ok {
			if builtin[ModuleName(file)] {
				return nil
			}
			return fmt.Errorf("module %s (needed by %s): %w", file, via, ErrModuleNotFound)
		}
		seen[file] = true
		for _, d := range deps {
			if err := visit(d, file); err != nil {
				return err
			}
		}
		return nil
	}
	for _, n := range names {
		file, ok := md.File(n)
		if !ok {
			if builtin[ModuleName(n)] {
				builtins = append(builtins, n)
				continue
			}
			return nil, nil, fmt.Errorf("module %s: %w", n, ErrModuleNotFound)
		}
		if err := visit(file, n); err != nil {
			return nil, nil, err
		}
	}
	for f := range seen {
		files = append(files, f)
	}
	sort.Strings(files)
	return files, builtins, nil
}

// WriteSubset writes the modules.dep lines of the given module files, in
// the original order, so kmodule sees exactly the modules shipped.
func (md *ModuleDeps) WriteSubset(w io.Writer, files []string) error {
	keep := map[string]bool{}
	for _, f := range files {
		keep[f] = true
	}
	bw := bufio.NewWriter(w)
	for _, f := range md.order {
		if !keep[f] {
			continue
		}
		fmt.Fprintf(bw, "%s:", f)
		for _, d := range md.deps[f] {
			fmt.Fprintf(bw, " %s", d)
		}
		bw.WriteString("\n")
	}
	return bw.Flush()
}

// ParseBuiltin reads modules.builtin (one module path a line) into a set
// of module names.
func ParseBuiltin(r io.Reader) (map[string]bool, error) {
	set := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if t := strings.TrimSpace(sc.Text()); t != "" && !strings.HasPrefix(t, "#") {
			set[ModuleName(t)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("modules.builtin: %w", err)
	}
	return set, nil
}

// FilterModuleLines copies the lines of a depmod text index (modules.alias,
// modules.softdep, modules.order...) that concern the given module names:
// "alias PATTERN NAME" keeps NAME, "softdep NAME ..." keeps NAME, a bare
// module path keeps its name. Comments are kept.
func FilterModuleLines(w io.Writer, r io.Reader, names map[string]bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	bw := bufio.NewWriter(w)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		keep := false
		switch {
		case len(f) == 0:
		case strings.HasPrefix(f[0], "#"):
			keep = true
		case f[0] == "alias" && len(f) >= 3:
			keep = names[ModuleName(f[len(f)-1])]
		case (f[0] == "softdep" || f[0] == "options") && len(f) >= 2:
			keep = names[ModuleName(f[1])]
		case len(f) == 1:
			keep = names[ModuleName(f[0])]
		}
		if keep {
			bw.WriteString(line)
			bw.WriteString("\n")
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	return bw.Flush()
}
