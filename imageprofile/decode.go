package imageprofile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

var keys = []string{"description", "inherits", "suite", "mirror", "variant", "diskful", "kernel", "packages", "exclude", "files", "postinstall", "postscripts"}

var (
	nameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)
	packageRE = regexp.MustCompile(`^-?[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$`)
	ownerRE   = regexp.MustCompile(`^[a-z_0-9][a-z0-9_.-]*:[a-z_0-9][a-z0-9_.-]*$`)
	suiteRE   = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	variants  = map[string]bool{"extract": true, "custom": true, "essential": true, "apt": true, "required": true, "minbase": true, "buildd": true, "important": true, "standard": true}
)

// Parse decodes the profile file named file (its content data). Relative
// paths are made absolute against the file's folder. It does not look at
// the disk (see Load for that).
func Parse(file string, data []byte) (*Profile, error) {
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	l := &errList{file: file}
	p := &Profile{Name: name, Path: file}
	if !nameRE.MatchString(name) {
		l.add(0, "", "profile name %q (from the file name) must match [a-z0-9][a-z0-9._-]*", name)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return p, l.err()
		}
		l.add(0, "", "YAML: %v", err)
		return nil, l.err()
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		l.add(extra.Line, "", "more than one YAML document")
		return nil, l.err()
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return p, l.err()
	}
	if root.Kind != yaml.MappingNode {
		l.add(root.Line, "", "want a mapping of %s", strings.Join(keys, ", "))
		return nil, l.err()
	}
	dir := filepath.Dir(file)
	seen := map[string]int{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			l.add(k.Line, "", "want a string key")
			continue
		}
		if first, dup := seen[k.Value]; dup {
			l.add(k.Line, k.Value, "duplicate key (first at line %d)", first)
			continue
		}
		seen[k.Value] = k.Line
		switch k.Value {
		case "description":
			if s, ok := scalar(l, v, k.Value); ok {
				p.Description = s.S
			}
		case "inherits":
			for i, s := range list(l, v, k.Value) {
				if !nameRE.MatchString(s.S) {
					l.add(s.Line, fmt.Sprintf("inherits[%d]", i), "invalid profile name %q", s.S)
					continue
				}
				if s.S == name {
					l.add(s.Line, fmt.Sprintf("inherits[%d]", i), "inheritance cycle: %s -> %s", name, name)
					continue
				}
				p.Inherits = append(p.Inherits, s)
			}
		case "suite":
			p.Suite = checked(l, v, k.Value, func(s string) error {
				if !suiteRE.MatchString(s) {
					return fmt.Errorf("invalid suite %q (want a name like bookworm)", s)
				}
				return nil
			})
		case "mirror":
			p.Mirror = checked(l, v, k.Value, func(s string) error {
				if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "file:/") || strings.ContainsAny(s, " \t'\"") {
					return fmt.Errorf("invalid mirror %q (want an http://, https:// or file:/ URL)", s)
				}
				return nil
			})
		case "variant":
			p.Variant = checked(l, v, k.Value, func(s string) error {
				if !variants[s] {
					return fmt.Errorf("unknown mmdebstrap variant %q (want essential, apt, minbase, required, ...)", s)
				}
				return nil
			})
		case "diskful":
			p.Diskful = checked(l, v, k.Value, func(s string) error {
				if s != "true" && s != "false" {
					return fmt.Errorf("%q: want true or false", s)
				}
				return nil
			})
		case "kernel":
			p.Kernel = checked(l, v, k.Value, func(s string) error {
				if !packageRE.MatchString(s) || strings.HasPrefix(s, "-") {
					return fmt.Errorf("invalid kernel package name %q (want e.g. linux-image-amd64)", s)
				}
				return nil
			})
		case "packages":
			for i, s := range list(l, v, k.Value) {
				if !packageRE.MatchString(s.S) {
					l.add(s.Line, fmt.Sprintf("packages[%d]", i), "invalid package name %q", s.S)
					continue
				}
				p.Packages = append(p.Packages, s)
			}
		case "exclude":
			for i, s := range list(l, v, k.Value) {
				if err := checkExclude(s.S); err != nil {
					l.add(s.Line, fmt.Sprintf("exclude[%d]", i), "%v", err)
					continue
				}
				p.Exclude = append(p.Exclude, s)
			}
		case "files":
			p.Files = files(l, v, dir)
		case "postinstall", "postscripts":
			var out []Value
			names := map[string]int{}
			for i, s := range list(l, v, k.Value) {
				f := fmt.Sprintf("%s[%d]", k.Value, i)
				if s.S == "" || strings.ContainsAny(s.S, "\n\x00") {
					l.add(s.Line, f, "want a script path")
					continue
				}
				if k.Value == "postscripts" {
					b := filepath.Base(s.S)
					if !nameRE.MatchString(b) {
						l.add(s.Line, f, "script name %q must match [a-z0-9][a-z0-9._-]* (it names the postscript on the node)", b)
						continue
					}
					if first, dup := names[b]; dup {
						l.add(s.Line, f, "postscript %s listed twice (first at line %d)", b, first)
						continue
					}
					names[b] = s.Line
				}
				out = append(out, Value{S: abs(dir, s.S), Line: s.Line})
			}
			if k.Value == "postinstall" {
				p.Postinstall = out
			} else {
				p.Postscripts = out
			}
		default:
			l.add(k.Line, k.Value, "unknown field (want one of %s)", strings.Join(keys, ", "))
		}
	}
	if err := l.err(); err != nil {
		return nil, err
	}
	return p, nil
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// checkExclude accepts an absolute path or glob (path.Match syntax) that
// does not name the root.
func checkExclude(s string) error {
	if !strings.HasPrefix(s, "/") {
		return fmt.Errorf("%q: want an absolute path or glob", s)
	}
	if c := path.Clean(s); c == "/" || c == "/*" {
		return fmt.Errorf("%q: would remove the whole image", s)
	}
	if strings.Contains(s, "..") {
		return fmt.Errorf("%q: no .. in exclusions", s)
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("%q: bad glob: %v", s, err)
	}
	return nil
}

func scalar(l *errList, n *yaml.Node, field string) (Value, bool) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		l.add(n.Line, field, "want a string")
		return Value{}, false
	}
	return Value{S: n.Value, Line: n.Line}, true
}

func checked(l *errList, n *yaml.Node, field string, check func(string) error) *Value {
	s, ok := scalar(l, n, field)
	if !ok {
		return nil
	}
	if err := check(s.S); err != nil {
		l.add(s.Line, field, "%v", err)
		return nil
	}
	return &s
}

func list(l *errList, n *yaml.Node, field string) []Value {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(n.Line, field, "want a list")
		return nil
	}
	var out []Value
	for i, it := range n.Content {
		if s, ok := scalar(l, it, fmt.Sprintf("%s[%d]", field, i)); ok {
			out = append(out, s)
		}
	}
	return out
}

func files(l *errList, n *yaml.Node, dir string) []File {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.add(n.Line, "files", "want a list of {src, dest, mode, owner}")
		return nil
	}
	var out []File
	dests := map[string]int{}
	for i, it := range n.Content {
		field := fmt.Sprintf("files[%d]", i)
		if it.Kind != yaml.MappingNode {
			l.add(it.Line, field, "want a mapping {src, dest, mode, owner}")
			continue
		}
		f := File{Mode: 0o644, Owner: "root:root", Line: it.Line}
		has := map[string]bool{}
		ok := true
		for j := 0; j+1 < len(it.Content); j += 2 {
			k, v := it.Content[j], it.Content[j+1]
			kf := field + "." + k.Value
			if has[k.Value] {
				l.add(k.Line, kf, "duplicate key")
				ok = false
				continue
			}
			has[k.Value] = true
			s, good := scalar(l, v, kf)
			if !good {
				ok = false
				continue
			}
			switch k.Value {
			case "src":
				if s.S == "" {
					l.add(s.Line, kf, "want a path")
					ok = false
				}
				f.Src = abs(dir, s.S)
			case "dest":
				if !strings.HasPrefix(s.S, "/") || path.Clean(s.S) == "/" || strings.Contains(s.S, "..") {
					l.add(s.Line, kf, "%q: want an absolute path in the image", s.S)
					ok = false
				}
				f.Dest = path.Clean(s.S)
			case "mode":
				m, err := strconv.ParseUint(s.S, 8, 32)
				if err != nil || m > 0o7777 || len(s.S) < 3 {
					l.add(s.Line, kf, "%q: want octal permissions like \"0644\" (quote it)", s.S)
					ok = false
				}
				f.Mode = uint32(m)
			case "owner":
				if !ownerRE.MatchString(s.S) {
					l.add(s.Line, kf, "%q: want user:group", s.S)
					ok = false
				}
				f.Owner = s.S
			default:
				l.add(k.Line, kf, "unknown field (want src, dest, mode, owner)")
				ok = false
			}
		}
		for _, req := range []string{"src", "dest"} {
			if !has[req] {
				l.add(it.Line, field+"."+req, "missing (required)")
				ok = false
			}
		}
		if !ok {
			continue
		}
		if first, dup := dests[f.Dest]; dup {
			l.add(it.Line, field+".dest", "%s already synced at line %d", f.Dest, first)
			continue
		}
		dests[f.Dest] = it.Line
		out = append(out, f)
	}
	return out
}
