package initrd

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultLibraryDirs are searched, in order, for DT_NEEDED libraries after
// the binary's own DT_RUNPATH/DT_RPATH.
var DefaultLibraryDirs = []string{
	"/lib/x86_64-linux-gnu",
	"/usr/lib/x86_64-linux-gnu",
	"/lib64",
	"/usr/lib64",
	"/lib",
	"/usr/lib",
	"/usr/local/lib",
}

// ErrLibraryNotFound is wrapped when a DT_NEEDED entry is in no search dir.
var ErrLibraryNotFound = errors.New("shared library not found")

// elfInfo is what library resolution needs from one ELF file.
type elfInfo struct {
	class   elf.Class
	machine elf.Machine
	interp  string
	needed  []string
	runpath []string
}

func readELF(file string) (*elfInfo, error) {
	f, err := elf.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info := &elfInfo{class: f.Class, machine: f.Machine}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b := make([]byte, p.Filesz)
		if _, err := p.ReadAt(b, 0); err != nil {
			return nil, fmt.Errorf("PT_INTERP: %w", err)
		}
		info.interp = strings.TrimRight(string(b), "\x00")
	}
	if f.Section(".dynamic") == nil && info.interp == "" {
		return info, nil // static
	}
	if info.needed, err = f.ImportedLibraries(); err != nil {
		return nil, fmt.Errorf("DT_NEEDED: %w", err)
	}
	origin := filepath.Dir(file)
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		vals, err := f.DynString(tag)
		if err != nil {
			return nil, fmt.Errorf("%v: %w", tag, err)
		}
		for _, v := range vals {
			for _, d := range strings.Split(v, ":") {
				d = strings.ReplaceAll(d, "$ORIGIN", origin)
				d = strings.ReplaceAll(d, "${ORIGIN}", origin)
				if d != "" {
					info.runpath = append(info.runpath, d)
				}
			}
		}
	}
	return info, nil
}

// ResolveLibraries returns the host paths of every shared library that
// binary needs, transitively, and its ELF interpreter, sorted. Symlinks
// are not resolved here (see SymlinkChain): the paths are the names the
// dynamic loader looks up. A static binary yields nil. dirs defaults to
// DefaultLibraryDirs.
func ResolveLibraries(binary string, dirs []string) ([]string, error) {
	if len(dirs) == 0 {
		dirs = DefaultLibraryDirs
	}
	root, err := readELF(binary)
	if err != nil {
		return nil, fmt.Errorf("read ELF %s: %w", binary, err)
	}
	found := map[string]bool{}
	if root.interp != "" {
		if _, err := os.Stat(root.interp); err != nil {
			return nil, fmt.Errorf("%s: interpreter %s: %w", binary, root.interp, err)
		}
		found[root.interp] = true
	}
	resolved := map[string]string{} // soname -> path
	var walk func(file string, info *elfInfo) error
	walk = func(file string, info *elfInfo) error {
		for _, soname := range info.needed {
			if _, done := resolved[soname]; done {
				continue
			}
			p, libInfo, err := findLibrary(soname, root, append(info.runpath, dirs...))
			if err != nil {
				return fmt.Errorf("%s needs %s: %w", file, soname, err)
			}
			resolved[soname] = p
			found[p] = true
			if err := walk(p, libInfo); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(binary, root); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(found))
	for p := range found {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

// findLibrary looks soname up in dirs, skipping ELF files of another class
// or machine than the root binary (e.g. 32-bit libraries in /lib).
func findLibrary(soname string, root *elfInfo, dirs []string) (string, *elfInfo, error) {
	if strings.Contains(soname, "/") {
		info, err := readELF(soname)
		if err != nil {
			return "", nil, err
		}
		return soname, info, nil
	}
	for _, d := range dirs {
		p := filepath.Join(d, soname)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		info, err := readELF(p)
		if err != nil || info.class != root.class || info.machine != root.machine {
			continue
		}
		return p, info, nil
	}
	return "", nil, fmt.Errorf("%w in %s", ErrLibraryNotFound, strings.Join(dirs, ":"))
}

// SymlinkChain returns file followed by every link target it goes through
// until a non-symlink, as absolute host paths. Directory components are
// not resolved, so each entry is the path under which the file is looked up.
func SymlinkChain(file string) ([]string, error) {
	chain := []string{file}
	cur := file
	for i := 0; ; i++ {
		if i > 40 {
			return nil, fmt.Errorf("%s: too many levels of symbolic links", file)
		}
		fi, err := os.Lstat(cur)
		if err != nil {
			return nil, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return chain, nil
		}
		target, err := os.Readlink(cur)
		if err != nil {
			return nil, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(cur), target)
		}
		cur = filepath.Clean(target)
		chain = append(chain, cur)
	}
}
