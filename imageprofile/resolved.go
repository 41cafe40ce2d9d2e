package imageprofile

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// From says where a resolved entry came from: the profile and line.
type From struct {
	Profile string `json:"profile"`
	Line    int    `json:"line,omitempty"`
}

func (f From) String() string {
	if f.Line == 0 {
		return f.Profile
	}
	return fmt.Sprintf("%s:%d", f.Profile, f.Line)
}

// Entry is one resolved value and its origin.
type Entry struct {
	Value string `json:"value"`
	From  From   `json:"from"`
}

// ResolvedFile is a synced file and its origin.
type ResolvedFile struct {
	File
	From From
}

// Resolved is a profile with its chain applied.
type Resolved struct {
	Name        string
	Chain       []string // application order, the profile itself last
	Suite       Entry
	Mirror      Entry
	Variant     Entry
	Diskful     Entry   // "true": the image carries a kernel and grub (mode install)
	Kernel      Entry   // the kernel package of a diskful image
	Packages    []Entry // sorted by name
	Exclude     []Entry // chain order
	Files       []ResolvedFile
	Postinstall []Entry // absolute script paths, base first
	Postscripts []Entry // absolute script paths, sorted by script name
}

// Resolve applies name's chain: suite, mirror and variant from the last
// profile in the chain that sets them; packages the union ("-NAME" drops
// a package an earlier profile added); exclusions appended; files keyed by
// destination (a later profile replaces an earlier one's); postinstall
// scripts appended base first; postscripts keyed by script name (a later
// profile replaces) and sorted by name, the order the node runs them in.
func (s *Set) Resolve(name string) (*Resolved, error) {
	chain, err := s.Chain(name)
	if err != nil {
		return nil, err
	}
	r := &Resolved{
		Name:    name,
		Suite:   Entry{DefaultSuite, From{Profile: "(default)"}},
		Mirror:  Entry{DefaultMirror, From{Profile: "(default)"}},
		Variant: Entry{DefaultVariant, From{Profile: "(default)"}},
		Diskful: Entry{"false", From{Profile: "(default)"}},
		Kernel:  Entry{DefaultKernel, From{Profile: "(default)"}},
	}
	pkgs := map[string]Entry{}
	files := map[string]ResolvedFile{}
	var fileOrder []string
	posts := map[string]Entry{}
	for _, p := range chain {
		r.Chain = append(r.Chain, p.Name)
		from := func(line int) From { return From{Profile: p.Name, Line: line} }
		if p.Suite != nil {
			r.Suite = Entry{p.Suite.S, from(p.Suite.Line)}
		}
		if p.Mirror != nil {
			r.Mirror = Entry{p.Mirror.S, from(p.Mirror.Line)}
		}
		if p.Variant != nil {
			r.Variant = Entry{p.Variant.S, from(p.Variant.Line)}
		}
		if p.Diskful != nil {
			r.Diskful = Entry{p.Diskful.S, from(p.Diskful.Line)}
		}
		if p.Kernel != nil {
			r.Kernel = Entry{p.Kernel.S, from(p.Kernel.Line)}
		}
		for _, v := range p.Packages {
			if n, ok := strings.CutPrefix(v.S, "-"); ok {
				delete(pkgs, n)
				continue
			}
			if _, ok := pkgs[v.S]; !ok {
				pkgs[v.S] = Entry{v.S, from(v.Line)}
			}
		}
		for _, v := range p.Exclude {
			r.Exclude = append(r.Exclude, Entry{v.S, from(v.Line)})
		}
		for _, f := range p.Files {
			if _, ok := files[f.Dest]; !ok {
				fileOrder = append(fileOrder, f.Dest)
			}
			files[f.Dest] = ResolvedFile{f, from(f.Line)}
		}
		for _, v := range p.Postinstall {
			r.Postinstall = append(r.Postinstall, Entry{v.S, from(v.Line)})
		}
		for _, v := range p.Postscripts {
			posts[filepath.Base(v.S)] = Entry{v.S, from(v.Line)}
		}
	}
	if r.IsDiskful() {
		// The kernel and the boot loader belong to the profile that asked
		// for them (its package layer).
		for _, n := range append([]string{r.Kernel.Value}, DiskfulPackages...) {
			if _, ok := pkgs[n]; !ok {
				pkgs[n] = Entry{n, r.Diskful.From}
			}
		}
	}
	for _, e := range pkgs {
		r.Packages = append(r.Packages, e)
	}
	sort.Slice(r.Packages, func(i, j int) bool { return r.Packages[i].Value < r.Packages[j].Value })
	for _, d := range fileOrder {
		r.Files = append(r.Files, files[d])
	}
	for _, e := range posts {
		r.Postscripts = append(r.Postscripts, e)
	}
	sort.Slice(r.Postscripts, func(i, j int) bool {
		return filepath.Base(r.Postscripts[i].Value) < filepath.Base(r.Postscripts[j].Value)
	})
	return r, nil
}

// IsDiskful reports whether the image is to be installed on disks (mode
// install): it then carries a kernel, an initramfs and grub.
func (r *Resolved) IsDiskful() bool { return r.Diskful.Value == "true" }

// PackageNames returns the resolved package names, sorted.
func (r *Resolved) PackageNames() []string {
	out := make([]string, len(r.Packages))
	for i, e := range r.Packages {
		out[i] = e.Value
	}
	return out
}

// PostscriptNames returns the postscripts' names (their file names) in
// the order the node runs them.
func (r *Resolved) PostscriptNames() []string {
	out := make([]string, len(r.Postscripts))
	for i, e := range r.Postscripts {
		out[i] = filepath.Base(e.Value)
	}
	return out
}
