// Package imagediff compares two squashfs OS images (`trapctl image diff
// A B`): the Debian packages added, removed and changed (from each image's
// /var/lib/dpkg/status) and the files added, removed and changed (from
// unsquashfs listings: type, mode, owner, size, link target; package files
// also by their dpkg md5sums), each file named with the package owning it.
package imagediff

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// Entry is one file system entry of an image listing.
type Entry struct {
	Mode   string // ls -l form, e.g. "-rw-r--r--"
	Owner  string // "uid/gid"
	Size   string // bytes, or "major,minor" for devices
	Target string // symlink target
	MD5    string // from the owning package's md5sums, when it lists the file
}

// Contents is what Diff compares.
type Contents struct {
	Packages map[string]string // name -> version (installed ones)
	Files    map[string]Entry  // absolute path -> entry
	Owner    map[string]string // path -> package listing it
}

// Inspect reads image (a squashfs file) with unsquashfs.
func Inspect(ctx context.Context, image string) (*Contents, error) {
	out, err := exec.CommandContext(ctx, "unsquashfs", "-lln", "-d", "", image).Output()
	if err != nil {
		return nil, fmt.Errorf("unsquashfs -lln %s: %w", image, stderrOf(err))
	}
	c := &Contents{Packages: map[string]string{}, Files: ParseListing(out), Owner: map[string]string{}}
	tmp, err := os.MkdirTemp("", "imagediff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	x := filepath.Join(tmp, "x")
	// dpkg's database only: status, and each package's file list and md5sums.
	cmd := exec.CommandContext(ctx, "unsquashfs", "-no-xattrs", "-d", x, image, "var/lib/dpkg/status", "var/lib/dpkg/info")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("unsquashfs %s var/lib/dpkg: %w: %s", image, err, bytes.TrimSpace(b))
	}
	st, err := os.ReadFile(filepath.Join(x, "var/lib/dpkg/status"))
	if err != nil {
		return c, nil // not a Debian image: files only
	}
	c.Packages = ParseStatus(st)
	infos, _ := filepath.Glob(filepath.Join(x, "var/lib/dpkg/info/*.list"))
	for _, l := range infos {
		pkg := strings.TrimSuffix(filepath.Base(l), ".list")
		pkg, _, _ = strings.Cut(pkg, ":")
		b, _ := os.ReadFile(l)
		for _, p := range strings.Split(string(b), "\n") {
			if p != "" && p != "/." {
				c.Owner[p] = pkg
			}
		}
		sums, _ := os.ReadFile(strings.TrimSuffix(l, ".list") + ".md5sums")
		for _, line := range strings.Split(string(sums), "\n") {
			sum, p, ok := strings.Cut(line, "  ")
			if !ok {
				continue
			}
			p = "/" + p
			if e, ok := c.Files[p]; ok {
				e.MD5 = sum
				c.Files[p] = e
			}
		}
	}
	return c, nil
}

func stderrOf(err error) error {
	if ee, ok := err.(*exec.ExitError); ok && len(ee.Stderr) > 0 {
		return fmt.Errorf("%w: %s", err, bytes.TrimSpace(ee.Stderr))
	}
	return err
}

// ParseListing parses `unsquashfs -lln -d ""` output: "MODE UID/GID SIZE
// DATE TIME PATH[ -> TARGET]".
func ParseListing(out []byte) map[string]Entry {
	files := map[string]Entry{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) < 6 || len(f[0]) != 10 {
			continue
		}
		// The path starts after the fifth field.
		rest := line
		for i := 0; i < 5; i++ {
			rest = strings.TrimLeft(rest, " ")
			rest = rest[strings.IndexByte(rest, ' ')+1:]
		}
		rest = strings.TrimLeft(rest, " ")
		e := Entry{Mode: f[0], Owner: f[1], Size: f[2]}
		if f[0][0] == 'd' {
			e.Size = "" // a folder's size follows its entries
		}
		if f[0][0] == 'l' {
			if p, t, ok := strings.Cut(rest, " -> "); ok {
				rest, e.Target = p, t
			}
		}
		if rest == "" || rest == "/" {
			continue
		}
		if !strings.HasPrefix(rest, "/") {
			rest = "/" + rest
		}
		files[rest] = e
	}
	return files
}

// ParseStatus returns the installed packages of a dpkg status file.
func ParseStatus(b []byte) map[string]string {
	out := map[string]string{}
	for _, para := range strings.Split(string(b), "\n\n") {
		var name, version, status string
		for _, line := range strings.Split(para, "\n") {
			k, v, ok := strings.Cut(line, ": ")
			if !ok {
				continue
			}
			switch k {
			case "Package":
				name = v
			case "Version":
				version = v
			case "Status":
				status = v
			}
		}
		if name != "" && strings.HasSuffix(status, " installed") {
			out[name] = version
		}
	}
	return out
}

// Change is one package or file difference.
type Change struct {
	Name    string `json:"name"`              // package name or path
	Kind    string `json:"kind"`              // added, removed, changed
	Before  string `json:"before,omitempty"`  // version or entry summary
	After   string `json:"after,omitempty"`   // version or entry summary
	Package string `json:"package,omitempty"` // files: the owning package
}

// Result is the difference from A to B.
type Result struct {
	Packages []Change `json:"packages"`
	Files    []Change `json:"files"`
}

// Diff compares a and b.
func Diff(a, b *Contents) Result {
	var r Result
	for n, v := range b.Packages {
		if av, ok := a.Packages[n]; !ok {
			r.Packages = append(r.Packages, Change{Name: n, Kind: "added", After: v})
		} else if av != v {
			r.Packages = append(r.Packages, Change{Name: n, Kind: "changed", Before: av, After: v})
		}
	}
	for n, v := range a.Packages {
		if _, ok := b.Packages[n]; !ok {
			r.Packages = append(r.Packages, Change{Name: n, Kind: "removed", Before: v})
		}
	}
	owner := func(p string) string {
		if o := b.Owner[p]; o != "" {
			return o
		}
		return a.Owner[p]
	}
	for p, e := range b.Files {
		ae, ok := a.Files[p]
		switch {
		case !ok:
			r.Files = append(r.Files, Change{Name: p, Kind: "added", After: e.String(), Package: owner(p)})
		case ae != e:
			r.Files = append(r.Files, Change{Name: p, Kind: "changed", Before: ae.String(), After: e.String(), Package: owner(p)})
		}
	}
	for p, e := range a.Files {
		if _, ok := b.Files[p]; !ok {
			r.Files = append(r.Files, Change{Name: p, Kind: "removed", Before: e.String(), Package: owner(p)})
		}
	}
	sort.Slice(r.Packages, func(i, j int) bool { return r.Packages[i].Name < r.Packages[j].Name })
	sort.Slice(r.Files, func(i, j int) bool { return r.Files[i].Name < r.Files[j].Name })
	return r
}

func (e Entry) String() string {
	s := e.Mode + " " + e.Owner + " " + e.Size
	if e.Target != "" {
		s += " -> " + e.Target
	}
	if e.MD5 != "" {
		s += " md5 " + e.MD5[:min(8, len(e.MD5))]
	}
	return s
}

var sign = map[string]string{"added": "+", "removed": "-", "changed": "~"}

// Write prints r for people: packages, then files, each with +, - or ~.
func (r Result) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "packages: %d difference(s)\n", len(r.Packages))
	for _, c := range r.Packages {
		switch c.Kind {
		case "added":
			fmt.Fprintf(bw, "  + %s %s\n", c.Name, c.After)
		case "removed":
			fmt.Fprintf(bw, "  - %s %s\n", c.Name, c.Before)
		default:
			fmt.Fprintf(bw, "  ~ %s %s -> %s\n", c.Name, c.Before, c.After)
		}
	}
	fmt.Fprintf(bw, "files: %d difference(s)\n", len(r.Files))
	for _, c := range r.Files {
		pkg := ""
		if c.Package != "" {
			pkg = " (" + c.Package + ")"
		}
		switch c.Kind {
		case "changed":
			fmt.Fprintf(bw, "  ~ %s%s: %s -> %s\n", c.Name, pkg, c.Before, c.After)
		default:
			fmt.Fprintf(bw, "  %s %s%s\n", sign[c.Kind], c.Name, pkg)
		}
	}
	return bw.Flush()
}
