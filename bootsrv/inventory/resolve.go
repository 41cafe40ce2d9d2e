package inventory

import (
	"fmt"
	"slices"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// Parse decodes and resolves an inventory. filename is used in error
// messages and blame. On error the *Cluster is nil.
func Parse(filename string, data []byte) (*Cluster, error) {
	root, err := parseYAML(filename, data)
	if err != nil {
		return nil, err
	}
	errs := &errList{file: filename}
	d := &decoder{errs: errs}
	doc := d.document(root)
	if errs.failed() {
		return nil, errs.err()
	}
	r := &resolver{file: filename, errs: errs, doc: doc}
	c := r.resolve()
	if errs.failed() {
		return nil, errs.err()
	}
	return c, nil
}

type resolver struct {
	file   string
	errs   *errList
	doc    *rawDoc
	nets   map[string]*Network
	groups map[string]*rawGroup
}

// link is one group in a node's precedence chain.
type link struct {
	group *rawGroup
	via   string // "compute>base" for inherited groups
}

func (r *resolver) resolve() *Cluster {
	c := &Cluster{file: r.file, byName: map[string]*Node{}, byMAC: map[string]macRef{}, defaults: r.doc.defaults.attrs}
	r.networks(c)
	r.checkGroups(c)
	if r.errs.failed() {
		return nil
	}
	r.nodes(c)
	r.statelite(c)
	r.discovery(c)
	slices.SortFunc(c.nodes, func(a, b *Node) int {
		if noderange.Less(a.Name, b.Name) {
			return -1
		}
		if a.Name == b.Name {
			return 0
		}
		return 1
	})
	return c
}

func (r *resolver) networks(c *Cluster) {
	r.nets = map[string]*Network{}
	first := map[string]*rawNetwork{}
	for _, rn := range r.doc.networks {
		n := &rn.net
		if prev, dup := first[n.Name]; dup {
			r.errs.add(rn.lines["name"], rn.path+".name", "duplicate network %q (first at line %d)", n.Name, prev.lines["name"])
			continue
		}
		for _, o := range c.networks {
			if o.Subnet.Overlaps(n.Subnet) {
				r.errs.add(rn.lines["subnet"], rn.path+".subnet", "subnet %s overlaps network %s (%s)", n.Subnet, o.Name, o.Subnet)
			}
		}
		first[n.Name] = rn
		r.nets[n.Name] = n
		c.networks = append(c.networks, n)
	}
}

func (r *resolver) checkGroups(c *Cluster) {
	r.groups = map[string]*rawGroup{}
	for _, g := range r.doc.groups {
		if prev, dup := r.groups[g.name]; dup {
			r.errs.add(g.line, g.path+".name", "duplicate group %q (first at line %d)", g.name, prev.line)
			continue
		}
		r.groups[g.name] = g
		c.groups = append(c.groups, &Group{Name: g.name, Inherit: g.inherit, Attrs: g.attrs.attrs})
	}
	for _, g := range r.doc.groups {
		for i, p := range g.inherit {
			if _, ok := r.groups[p]; !ok {
				r.errs.add(g.inheritLines[i], fmt.Sprintf("%s.inherit[%d]", g.path, i), "unknown group %q", p)
			}
		}
	}
	if r.errs.failed() {
		return
	}
	// Cycle detection: depth-first, colouring groups on the stack.
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(g *rawGroup)
	visit = func(g *rawGroup) {
		color[g.name] = grey
		stack = append(stack, g.name)
		for i, p := range g.inherit {
			switch color[p] {
			case grey:
				at := slices.Index(stack, p)
				cycle := append(slices.Clone(stack[at:]), p)
				r.errs.add(g.inheritLines[i], fmt.Sprintf("%s.inherit[%d]", g.path, i), "inheritance cycle %s", strings.Join(cycle, " > "))
			case white:
				visit(r.groups[p])
			}
		}
		stack = stack[:len(stack)-1]
		color[g.name] = black
	}
	for _, g := range r.doc.groups {
		if color[g.name] == white && r.groups[g.name] == g {
			visit(g)
		}
	}
}

// chain returns the groups of a node in precedence order: each listed group
// followed depth-first by the groups it inherits, each group once.
func (r *resolver) chain(direct []string) []link {
	seen := map[string]bool{}
	var out []link
	var walk func(name string, path []string)
	walk = func(name string, path []string) {
		if seen[name] {
			return
		}
		seen[name] = true
		g := r.groups[name]
		l := link{group: g}
		path = append(path[:len(path):len(path)], name)
		if len(path) > 1 {
			l.via = strings.Join(path, ">")
		}
		out = append(out, l)
		for _, p := range g.inherit {
			walk(p, path)
		}
	}
	for _, name := range direct {
		walk(name, nil)
	}
	return out
}

// resolveAttrs merges an entry's attributes with its groups and defaults.
func (r *resolver) resolveAttrs(e *rawEntry) (Attrs, map[string]api.Source) {
	type source struct {
		set *attrSet
		src api.Source
	}
	sources := []source{{&e.attrs, api.Source{Kind: "node", Name: e.expr}}}
	for _, l := range r.chain(e.groups) {
		sources = append(sources, source{&l.group.attrs, api.Source{Kind: "group", Name: l.group.name, Via: l.via}})
	}
	sources = append(sources, source{&r.doc.defaults, api.Source{Kind: "default"}})
	var out Attrs
	blame := map[string]api.Source{}
	for _, f := range attrFields {
		for _, s := range sources {
			v := s.set.attrs.field(f)
			if v.IsNil() {
				continue
			}
			out.field(f).Set(v)
			src := s.src
			src.File, src.Line = r.file, s.set.lines[f.key]
			blame[f.key] = src
			break
		}
	}
	return out, blame
}

// ref locates a value in the file for duplicate messages.
type ref struct {
	node string
	line int
}
