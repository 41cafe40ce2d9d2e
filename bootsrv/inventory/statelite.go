package inventory

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Statelite's two top-level sections, as xCAT's litefile and litetree
// tables (the per-node store is the statelite attribute):
//
//	litefile:                 # paths each node gets writable, per image or for all
//	  - path: /etc/motd       # absolute; a folder ends in /
//	    option: tmpfs         # tmpfs (default), con, persistent, persistent,con, ro
//	    image: compute        # only nodes whose image is compute; default: all images
//	litetree:                 # where the files' first versions come from
//	  - source: "198.18.0.1:/lite/{group}"   # NFS export, templated per node
//	  - source: "data:/lite/{node}"          # DATA/lite/<node> of bootsrv, over NFS
//	    priority: 1           # lower first; default: file order
//	    image: compute        # default: all images
//
// A path's per-image rule replaces the all-images rule of the same path.

// allImages is how a rule for every image is written (also: no image key).
const allImages = "ALL"

type liteDoc struct {
	files []*rawLiteFile
	tree  []*rawLiteSource
}

type rawLiteFile struct {
	rule  manifest.LiteFile
	image string // "" for all images
	field string // "litefile[3]"
	line  int    // line of the path
	oline int    // line of the option (the path's when absent)
}

type rawLiteSource struct {
	source   string
	tmpl     *liteTemplate
	priority float64
	image    string
	field    string
	line     int
}

// liteSections decodes the litefile and litetree sections of the top level.
func (d *decoder) liteSections(m map[string]kv, doc *liteDoc) {
	if v, ok := m["litefile"]; ok {
		items, _ := d.seq(v.val, "litefile", true)
		for i, it := range items {
			if f := d.liteFile(it, fmt.Sprintf("litefile[%d]", i)); f != nil {
				doc.files = append(doc.files, f)
			}
		}
	}
	if v, ok := m["litetree"]; ok {
		items, _ := d.seq(v.val, "litetree", true)
		for i, it := range items {
			if s := d.liteSource(it, fmt.Sprintf("litetree[%d]", i), i); s != nil {
				doc.tree = append(doc.tree, s)
			}
		}
	}
}

func (d *decoder) liteImage(m map[string]kv, path string) (string, bool) {
	v, has := m["image"]
	if !has {
		return "", true
	}
	s, ok := d.str(v.val, join(path, "image"))
	if !ok {
		return "", false
	}
	if s == allImages || s == "" {
		return "", true
	}
	if err := checkLine(s); err != nil || strings.ContainsAny(s, " /") {
		d.errs.add(v.key.Line, join(path, "image"), "image name %q: want a registry image name or ALL", s)
		return "", false
	}
	return s, true
}

func (d *decoder) liteFile(n *yaml.Node, path string) *rawLiteFile {
	m, _, ok := d.mapping(n, path, knownKeys("path", "option", "image"))
	if !ok || !d.required(m, n, path, "path") {
		return nil
	}
	f := &rawLiteFile{field: path, line: m["path"].key.Line}
	f.oline = f.line
	p, good := d.str(m["path"].val, join(path, "path"))
	if good {
		if err := manifest.CheckLitePath(p); err != nil {
			d.errs.add(f.line, join(path, "path"), "%v", err)
			good = false
		}
	}
	ok = ok && good
	f.rule.Path = p
	opt := ""
	if v, has := m["option"]; has {
		f.oline = v.key.Line
		if opt, good = d.str(v.val, join(path, "option")); !good {
			ok = false
		}
	}
	if ok {
		o, err := manifest.ParseLiteOption(opt)
		if err != nil {
			d.errs.add(f.oline, join(path, "option"), "%v", err)
			return nil
		}
		f.rule.Option = o
		if f.rule.IsFolder() && f.rule.Concatenated() {
			d.errs.add(f.oline, join(path, "option"), "%s: %s applies to files; a folder (trailing /) cannot be concatenated", p, o)
			return nil
		}
	}
	img, good := d.liteImage(m, path)
	if !ok || !good {
		return nil
	}
	f.image = img
	return f
}

func (d *decoder) liteSource(n *yaml.Node, path string, i int) *rawLiteSource {
	m, _, ok := d.mapping(n, path, knownKeys("source", "priority", "image"))
	if !ok || !d.required(m, n, path, "source") {
		return nil
	}
	s := &rawLiteSource{field: path, line: m["source"].key.Line, priority: float64(i)}
	src, good := d.str(m["source"].val, join(path, "source"))
	if !good {
		return nil
	}
	t, err := compileLiteTemplate(src)
	if err != nil {
		d.errs.add(s.line, join(path, "source"), "%v", err)
		return nil
	}
	if !t.dynamic() {
		if err := checkLiteSource(src); err != nil {
			d.errs.add(s.line, join(path, "source"), "%v", err)
			return nil
		}
	}
	s.source, s.tmpl = src, t
	if v, has := m["priority"]; has {
		ps, good := d.str(v.val, join(path, "priority"))
		if !good {
			return nil
		}
		pr, err := strconv.ParseFloat(ps, 64)
		if err != nil || pr < 0 || pr > 1e6 {
			d.errs.add(v.key.Line, join(path, "priority"), "%q: want a number from 0 (first) to 1000000", ps)
			return nil
		}
		s.priority = pr
	}
	img, good := d.liteImage(m, path)
	if !good {
		return nil
	}
	s.image = img
	return s
}

// DataPrefix starts a litetree source in bootsrv's data folder:
// "data:/lite/{group}" is DATA/lite/<group>, which the node mounts from
// its data_export attribute (the NFS export of DATA, e.g.
// "198.18.0.1:/data"), as "198.18.0.1:/data/lite/<group>".
const DataPrefix = "data:"

// checkLiteSource accepts a rendered litetree source: an NFS export or
// data:/PATH.
func checkLiteSource(s string) error {
	if rel, ok := strings.CutPrefix(s, DataPrefix); ok {
		return checkDataPath(rel)
	}
	_, _, err := manifest.ParseExport(s)
	return err
}

// checkDataPath accepts the PATH of data:/PATH: absolute, clean, not the
// data folder itself, no spaces or commas.
func checkDataPath(rel string) error {
	if !strings.HasPrefix(rel, "/") || path.Clean(rel) != rel || rel == "/" || strings.ContainsAny(rel, " ,\\\n\t") {
		return fmt.Errorf("source %q: want data:/PATH, a clean path inside bootsrv's data folder, e.g. data:/lite/{group}", DataPrefix+rel)
	}
	return nil
}

// dataSource turns source s rendered for node n into the NFS export the
// agent mounts, and the folder under DATA it names ("" for an export).
func dataSource(n *Node, s string) (export, data string, err error) {
	rel, ok := strings.CutPrefix(s, DataPrefix)
	if !ok {
		_, _, err := manifest.ParseExport(s)
		return s, "", err
	}
	if err := checkDataPath(rel); err != nil {
		return "", "", err
	}
	base := Val(n.Attrs.DataExport)
	if base == "" {
		return "", "", fmt.Errorf("%s: node %s has no data_export attribute (the NFS export of bootsrv's data folder, ADDR:/PATH)", s, n.Name)
	}
	i := strings.LastIndex(base, ":/")
	return base[:i+1] + path.Join(base[i+1:], rel), rel, nil
}

// checkExport accepts "" or an NFS export ADDR:/PATH.
func checkExport(s string) error {
	if s == "" {
		return nil
	}
	_, _, err := manifest.ParseExport(s)
	return err
}

// liteTemplate is a litetree source with {placeholders}: {node} (or
// {name}), {group} (the node's first group), {index}, or any string
// attribute of the node ({image}, {nfsroot}, ...).
type liteTemplate struct {
	lits  []string // len(keys)+1 literals around the placeholders
	keys  []string
	lines []int
}

func (t *liteTemplate) dynamic() bool { return len(t.keys) > 0 }

func compileLiteTemplate(s string) (*liteTemplate, error) {
	t := &liteTemplate{}
	rest := s
	for {
		open := strings.IndexAny(rest, "{}")
		if open < 0 {
			t.lits = append(t.lits, rest)
			return t, nil
		}
		if rest[open] == '}' {
			return nil, fmt.Errorf("unbalanced '}' in %q", s)
		}
		end := strings.IndexByte(rest[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unbalanced '{' in %q", s)
		}
		key := rest[open+1 : open+end]
		switch {
		case key == "node" || key == "name" || key == "group" || key == "index":
		case isAttrKey(key):
			if f, _ := attrByKey(key); f.list {
				return nil, fmt.Errorf("placeholder {%s}: %s is a list attribute; want one value", key, key)
			}
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} in %q (want {node}, {group}, {index} or an attribute such as {image})", key, s)
		}
		t.lits = append(t.lits, rest[:open])
		t.keys = append(t.keys, key)
		rest = rest[open+end+1:]
	}
}

// render expands t for node n.
func (t *liteTemplate) render(n *Node) (string, error) {
	var b strings.Builder
	for i, lit := range t.lits {
		b.WriteString(lit)
		if i == len(t.keys) {
			break
		}
		v, err := liteValue(n, t.keys[i])
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

func liteValue(n *Node, key string) (string, error) {
	switch key {
	case "node", "name":
		return n.Name, nil
	case "group":
		if len(n.Groups) == 0 {
			return "", fmt.Errorf("{group}: node %s is in no group", n.Name)
		}
		return n.Groups[0], nil
	case "index":
		if n.Index < 0 {
			return "", fmt.Errorf("{index}: node name %s does not end in a number", n.Name)
		}
		return strconv.Itoa(n.Index), nil
	}
	v, ok := n.Attrs.Map()[key]
	if !ok {
		return "", fmt.Errorf("{%s}: node %s has no %s attribute", key, n.Name, key)
	}
	s := fmt.Sprint(plain(v))
	if s == "" {
		return "", fmt.Errorf("{%s}: node %s's %s attribute is empty", key, n.Name, key)
	}
	return s, nil
}
