package imageprofile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Defaults for what no profile in a chain sets.
const (
	DefaultSuite   = "bookworm"
	DefaultMirror  = "http://deb.debian.org/debian"
	DefaultVariant = "essential"
	DefaultKernel  = "linux-image-amd64"
)

// DiskfulPackages are installed with the kernel into a diskful image:
// the initramfs generator and grub for BIOS and UEFI (grub-install,
// grub-mkconfig and both targets' modules, without grub-pc's own disk
// set-up: the install step runs grub-install on the node's disk).
var DiskfulPackages = []string{"initramfs-tools", "grub2-common", "grub-pc-bin", "grub-efi-amd64-bin"}

// Set is a folder of profiles: NAME.yaml each.
type Set struct {
	Dir string
	// read caches parsed profiles by name.
	read map[string]*Profile
}

// Open returns the profile set in dir.
func Open(dir string) *Set {
	if a, err := filepath.Abs(dir); err == nil {
		dir = a
	}
	return &Set{Dir: dir, read: map[string]*Profile{}}
}

// Names lists the profiles in the set, sorted.
func (s *Set) Names() ([]string, error) {
	m, err := filepath.Glob(filepath.Join(s.Dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, f := range m {
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	sort.Strings(out)
	return out, nil
}

// Load reads and checks one profile: its YAML and that every file and
// script it names exists.
func (s *Set) Load(name string) (*Profile, error) {
	if p, ok := s.read[name]; ok {
		return p, nil
	}
	if !nameRE.MatchString(name) {
		return nil, fmt.Errorf("profile %q: invalid name (want [a-z0-9][a-z0-9._-]*)", name)
	}
	file := filepath.Join(s.Dir, name+".yaml")
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("profile %s: no file %s", name, file)
	}
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", name, err)
	}
	p, err := Parse(file, data)
	if err != nil {
		return nil, err
	}
	l := &errList{file: file}
	exists := func(path string, line int, field string, exec bool) {
		st, err := os.Stat(path)
		switch {
		case err != nil:
			l.add(line, field, "%v", err)
		case !st.Mode().IsRegular():
			l.add(line, field, "%s: not a regular file", path)
		case exec && st.Mode()&0o111 == 0:
			l.add(line, field, "%s: not executable (chmod +x)", path)
		}
	}
	for i, f := range p.Files {
		exists(f.Src, f.Line, fmt.Sprintf("files[%d].src", i), false)
	}
	for i, v := range p.Postinstall {
		exists(v.S, v.Line, fmt.Sprintf("postinstall[%d]", i), true)
	}
	for i, v := range p.Postscripts {
		exists(v.S, v.Line, fmt.Sprintf("postscripts[%d]", i), false)
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	s.read[name] = p
	return p, nil
}

// Chain returns name's profiles in application order: every inherited
// profile before the profiles inheriting it, parents in their listed
// order, each once (a depth-first post-order of the DAG). A cycle is an
// error naming the loop: "inheritance cycle: a -> b -> a (a.yaml:3)".
func (s *Set) Chain(name string) ([]*Profile, error) {
	var out []*Profile
	done := map[string]bool{}
	var stack []string
	var visit func(name string, from *Profile, line int) error
	visit = func(name string, from *Profile, line int) error {
		for i, n := range stack {
			if n == name {
				loop := append(append([]string{}, stack[i:]...), name)
				return fmt.Errorf("%s:%d: inherits: inheritance cycle: %s", from.Path, line, strings.Join(loop, " -> "))
			}
		}
		if done[name] {
			return nil
		}
		p, err := s.Load(name)
		if err != nil {
			if from != nil {
				return fmt.Errorf("%s:%d: inherits: %w", from.Path, line, err)
			}
			return err
		}
		stack = append(stack, name)
		for _, r := range p.Inherits {
			if err := visit(r.S, p, r.Line); err != nil {
				return err
			}
		}
		stack = stack[:len(stack)-1]
		done[name] = true
		out = append(out, p)
		return nil
	}
	if err := visit(name, nil, 0); err != nil {
		return nil, err
	}
	return out, nil
}
