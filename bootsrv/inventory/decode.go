package inventory

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultLease is a network's lease time when the inventory sets none.
const DefaultLease = 12 * time.Hour

// rawDoc is the decoded file before resolution.
type rawDoc struct {
	networks []*rawNetwork
	defaults attrSet
	groups   []*rawGroup
	entries  []*rawEntry
	lite     liteDoc    // litefile and litetree sections (statelite.go)
	pools    []*rawPool // discovery section (discovery.go)
}

type rawNetwork struct {
	net   Network
	path  string
	line  int
	lines map[string]int // key -> line
}

type rawGroup struct {
	name         string
	path         string
	line         int
	inherit      []string
	inheritLines []int
	attrs        attrSet
}

type rawIface struct {
	name, network string
	mac, ip       *template
	macRaw, ipRaw string
	boot          bool
	path          string
	lines         map[string]int
}

type rawEntry struct {
	expr       string
	path       string
	line       int // line of the name
	groups     []string
	groupLines []int
	ifaces     []*rawIface
	attrs      attrSet
}

func knownKeys(keys ...string) func(string) bool {
	return func(k string) bool {
		for _, s := range keys {
			if s == k {
				return true
			}
		}
		return false
	}
}

// parseYAML parses exactly one YAML document; nil for an empty file.
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(file, err)
		}
		return nil, &Error{File: file, Line: extra.Line, Msg: "more than one YAML document"}
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil, nil
		}
		return doc.Content[0], nil
	}
	return &doc, nil
}

// document decodes the top level.
func (d *decoder) document(root *yaml.Node) *rawDoc {
	doc := &rawDoc{defaults: attrSet{lines: map[string]int{}}}
	if root == nil || root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		return doc
	}
	m, _, _ := d.mapping(root, "", knownKeys("networks", "defaults", "groups", "nodes", "litefile", "litetree", "discovery"))
	if v, ok := m["networks"]; ok {
		items, _ := d.seq(v.val, "networks", true)
		for i, it := range items {
			if n := d.network(it, fmt.Sprintf("networks[%d]", i)); n != nil {
				doc.networks = append(doc.networks, n)
			}
		}
	}
	if v, ok := m["defaults"]; ok && !isNull(v.val) {
		dm, order, _ := d.mapping(v.val, "defaults", isAttrKey)
		doc.defaults = d.attrs(dm, order, "defaults")
	}
	if v, ok := m["groups"]; ok {
		items, _ := d.seq(v.val, "groups", true)
		for i, it := range items {
			if g := d.group(it, fmt.Sprintf("groups[%d]", i)); g != nil {
				doc.groups = append(doc.groups, g)
			}
		}
	}
	d.liteSections(m, &doc.lite)
	d.discoverySection(m, doc)
	if v, ok := m["nodes"]; ok {
		items, _ := d.seq(v.val, "nodes", true)
		for i, it := range items {
			if e := d.entry(it, fmt.Sprintf("nodes[%d]", i)); e != nil {
				doc.entries = append(doc.entries, e)
			}
		}
	}
	return doc
}

func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// validName reports whether s is a valid group or network name.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// required reports a missing key.
func (d *decoder) required(m map[string]kv, n *yaml.Node, path string, keys ...string) bool {
	ok := true
	for _, k := range keys {
		if _, has := m[k]; !has {
			d.errs.add(line(deref(n)), join(path, k), "missing (required)")
			ok = false
		}
	}
	return ok
}

func (d *decoder) name(v *yaml.Node, path, what string) (string, bool) {
	s, ok := d.str(v, path)
	if ok && !validName(s) {
		d.errs.add(line(deref(v)), path, "invalid %s name %q (want lowercase [a-z0-9._-])", what, s)
		return "", false
	}
	return s, ok
}

func (d *decoder) group(n *yaml.Node, path string) *rawGroup {
	m, order, ok := d.mapping(n, path, func(k string) bool { return k == "name" || k == "inherit" || isAttrKey(k) })
	if !ok || !d.required(m, n, path, "name") {
		return nil
	}
	g := &rawGroup{path: path, line: m["name"].key.Line}
	g.name, ok = d.name(m["name"].val, join(path, "name"), "group")
	if v, has := m["inherit"]; has {
		var good bool
		g.inherit, g.inheritLines, good = d.strList(v.val, join(path, "inherit"))
		ok = ok && good
	}
	before := len(d.errs.errs) + d.errs.more
	g.attrs = d.attrs(m, order, path)
	if !ok || len(d.errs.errs)+d.errs.more != before {
		return nil
	}
	return g
}

func (d *decoder) entry(n *yaml.Node, path string) *rawEntry {
	m, order, ok := d.mapping(n, path, func(k string) bool {
		return k == "name" || k == "groups" || k == "interfaces" || isAttrKey(k)
	})
	if !ok || !d.required(m, n, path, "name") {
		return nil
	}
	e := &rawEntry{path: path, line: m["name"].key.Line}
	e.expr, ok = d.str(m["name"].val, join(path, "name"))
	if v, has := m["groups"]; has {
		var good bool
		e.groups, e.groupLines, good = d.strList(v.val, join(path, "groups"))
		ok = ok && good
	}
	if v, has := m["interfaces"]; has {
		items, good := d.seq(v.val, join(path, "interfaces"), false)
		ok = ok && good
		for i, it := range items {
			ifc := d.iface(it, fmt.Sprintf("%s.interfaces[%d]", path, i), i)
			if ifc == nil {
				ok = false
				continue
			}
			e.ifaces = append(e.ifaces, ifc)
		}
	}
	before := len(d.errs.errs) + d.errs.more
	e.attrs = d.attrs(m, order, path)
	if !ok || len(d.errs.errs)+d.errs.more != before {
		return nil
	}
	return e
}

func (d *decoder) iface(n *yaml.Node, path string, i int) *rawIface {
	m, _, ok := d.mapping(n, path, knownKeys("name", "network", "mac", "ip", "boot"))
	if !ok || !d.required(m, n, path, "mac") {
		return nil
	}
	r := &rawIface{name: fmt.Sprintf("net%d", i), path: path, lines: map[string]int{}}
	for k, v := range m {
		r.lines[k] = v.key.Line
	}
	if v, has := m["name"]; has {
		s, good := d.str(v.val, join(path, "name"))
		if good && (s == "" || len(s) > 15 || strings.ContainsAny(s, " /\t")) {
			d.errs.add(v.key.Line, join(path, "name"), "invalid interface name %q", s)
			good = false
		}
		r.name, ok = s, ok && good
	}
	if v, has := m["network"]; has {
		var good bool
		r.network, good = d.str(v.val, join(path, "network"))
		ok = ok && good
	}
	tmpl := func(key string) (*template, string, bool) {
		s, good := d.str(m[key].val, join(path, key))
		if !good {
			return nil, "", false
		}
		t, err := compileTemplate(s)
		if err != nil {
			d.errs.add(m[key].key.Line, join(path, key), "%v", err)
			return nil, "", false
		}
		return t, s, true
	}
	var good bool
	r.mac, r.macRaw, good = tmpl("mac")
	ok = ok && good
	if _, has := m["ip"]; has {
		r.ip, r.ipRaw, good = tmpl("ip")
		ok = ok && good
	}
	if v, has := m["boot"]; has {
		r.boot, good = d.boolean(v.val, join(path, "boot"))
		ok = ok && good
	}
	if !ok {
		return nil
	}
	return r
}
