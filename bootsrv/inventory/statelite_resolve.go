package inventory

import (
	"fmt"
	"sort"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// NodeLite is a node's resolved statelite configuration: the litefile
// rules of its image, its litetree sources templated for it, in priority
// order, and its persistent store.
type NodeLite struct {
	Image string
	Files []LiteRule
	Tree  []LiteSource
	Store string
	// Err is why the node's litetree sources cannot be rendered (only for
	// nodes that are not statelite in the inventory: for those the
	// inventory is refused). bootsrv states it as a manifest problem.
	Err error
}

// LiteRule is a litefile rule with where it was written.
type LiteRule struct {
	manifest.LiteFile
	Image string // "" for all images
	File  string
	Line  int
	Field string // "litefile[3]"
}

// LiteSource is a litetree source rendered for one node.
type LiteSource struct {
	Export   string // rendered: the NFS export the agent mounts
	Data     string // for a data:/PATH source, PATH (under bootsrv's data folder)
	Template string // as written
	Priority float64
	Image    string // "" for all images
	File     string
	Line     int
}

// Manifest is the manifest form of l (the root export is the caller's).
func (l *NodeLite) Manifest() *manifest.Statelite {
	s := &manifest.Statelite{Files: []manifest.LiteFile{}, Store: l.Store}
	for _, f := range l.Files {
		s.Files = append(s.Files, f.LiteFile)
	}
	for _, t := range l.Tree {
		s.Tree = append(s.Tree, t.Export)
	}
	return s
}

// isStatelite reports whether the inventory makes n a statelite node: its
// mode, or a store or NFS root of its own.
func isStatelite(n *Node) bool {
	return Val(n.Attrs.Mode) == manifest.ModeStatelite || n.Attrs.Statelite != nil || n.Attrs.NFSRoot != nil
}

func scopeName(image string) string {
	if image == "" {
		return allImages
	}
	return image
}

// LiteFiles returns the litefile rules that apply to image: its own
// rules, and the all-images rules of the paths it has none for, by path.
func (c *Cluster) LiteFiles(image string) []LiteRule {
	byKey := map[string]LiteRule{}
	for _, pass := range []bool{false, true} { // all-images first, then the image's own
		for _, f := range c.lite.files {
			if (f.image != "") != pass || (pass && f.image != image) {
				continue
			}
			byKey[strings.TrimSuffix(f.rule.Path, "/")] = LiteRule{LiteFile: f.rule, Image: f.image, File: c.file, Line: f.line, Field: f.field}
		}
	}
	out := make([]LiteRule, 0, len(byKey))
	for _, f := range byKey {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// statelite checks the litefile and litetree sections and resolves every
// node's NodeLite.
func (r *resolver) statelite(c *Cluster) {
	c.lite = r.doc.lite
	if r.errs.failed() { // unknown groups: no chains to walk
		return
	}
	r.liteDuplicates()
	r.liteStores()
	if r.errs.failed() {
		return
	}
	reported := map[string]bool{} // one error per rule (and kind)
	report := func(key string, line int, field, format string, args ...any) {
		if !reported[key] {
			reported[key] = true
			r.errs.add(line, field, format, args...)
		}
	}
	for _, n := range c.nodes {
		image := Val(n.Attrs.Image)
		files := c.LiteFiles(image)
		var tree []LiteSource
		var terr error
		for _, s := range r.doc.lite.tree {
			if s.image != "" && s.image != image {
				continue
			}
			out, err := s.tmpl.render(n)
			var data string
			if err == nil {
				out, data, err = dataSource(n, out)
			}
			if err != nil {
				if isStatelite(n) {
					report("tree "+s.field, s.line, s.field+".source", "node %s cannot be templated into %q: %v", n.Name, s.source, err)
				}
				if terr == nil {
					terr = fmt.Errorf("litetree source %q (%s:%d): %w", s.source, r.file, s.line, err)
				}
				continue
			}
			tree = append(tree, LiteSource{Export: out, Data: data, Template: s.source, Priority: s.priority, Image: s.image, File: r.file, Line: s.line})
		}
		sort.SliceStable(tree, func(i, j int) bool { return tree[i].Priority < tree[j].Priority })
		store := Val(n.Attrs.Statelite)
		if len(files) == 0 && len(tree) == 0 && store == "" && terr == nil {
			continue
		}
		n.Lite = &NodeLite{Image: image, Files: files, Tree: tree, Store: store, Err: terr}
		if !isStatelite(n) {
			continue
		}
		for _, f := range files {
			if f.Persistent() && store == "" {
				report(fmt.Sprintf("store %d", f.Line), f.Line, "litefile", "%s is %s but node %s has no persistent store (set its statelite attribute to ADDR:/EXPORT)", f.Path, f.Option, n.Name)
			}
		}
	}
}

// liteDuplicates refuses a path listed twice for one scope (image or all
// images), with a special word for persistent and ro together, and a rule
// inside a folder rule that applies with it.
func (r *resolver) liteDuplicates() {
	first := map[string]*rawLiteFile{}
	for _, f := range r.doc.lite.files {
		key := f.image + "\x00" + strings.TrimSuffix(f.rule.Path, "/")
		prev, dup := first[key]
		if !dup {
			first[key] = f
			continue
		}
		if prev.rule.Option != f.rule.Option {
			r.errs.add(f.oline, f.field+".option", "%s is both %s (line %d) and %s for image %s: one rule per path", f.rule.Path, prev.rule.Option, prev.oline, f.rule.Option, scopeName(f.image))
		} else {
			r.errs.add(f.line, f.field+".path", "%s listed twice for image %s (first at line %d)", f.rule.Path, scopeName(f.image), prev.line)
		}
	}
	for _, o := range r.doc.lite.files {
		if !o.rule.IsFolder() {
			continue
		}
		for _, f := range r.doc.lite.files {
			together := o.image == "" || f.image == "" || o.image == f.image
			if f != o && together && strings.HasPrefix(f.rule.Path, o.rule.Path) {
				r.errs.add(f.line, f.field+".path", "%s is inside folder rule %s (line %d): one rule per tree", f.rule.Path, o.rule.Path, o.line)
			}
		}
	}
}

// liteStores refuses a node entry that gets two different stores from
// its own attributes and its groups (xCAT's "two statelite rows for one
// node"); defaults are the fallback and never conflict.
func (r *resolver) liteStores() {
	for _, e := range r.doc.entries {
		type src struct {
			val, where string
			line       int
		}
		var found []src
		if v := Val(e.attrs.attrs.Statelite); v != "" {
			found = append(found, src{v, "node entry " + e.expr, e.attrs.lines["statelite"]})
		}
		for _, l := range r.chain(e.groups) {
			if v := Val(l.group.attrs.attrs.Statelite); v != "" {
				found = append(found, src{v, "group " + l.group.name, l.group.attrs.lines["statelite"]})
			}
		}
		for _, s := range found[min(1, len(found)):] {
			if s.val != found[0].val {
				r.errs.add(e.line, e.path+".statelite", "node(s) %s get two persistent stores: %s from %s (line %d) and %s from %s (line %d); set it in one place",
					e.expr, found[0].val, found[0].where, found[0].line, s.val, s.where, s.line)
				break
			}
		}
	}
}

// api adds the rules to a node's API form: one attribute per rule
// ("litefile /etc/motd": "tmpfs", "litetree 1": "ADDR:/EXPORT") with its
// source for --blame.
func (l *NodeLite) api(out *api.Node, withBlame bool) {
	if l == nil {
		return
	}
	for _, f := range l.Files {
		key := "litefile " + f.Path
		out.Attrs[key] = f.Option
		if withBlame {
			out.Blame[key] = api.Source{Kind: "litefile (image " + scopeName(f.Image) + ")", File: f.File, Line: f.Line}
		}
	}
	for i, t := range l.Tree {
		key := fmt.Sprintf("litetree %d", i+1)
		out.Attrs[key] = t.Export
		if withBlame {
			out.Blame[key] = api.Source{Kind: fmt.Sprintf("litetree %q (image %s)", t.Template, scopeName(t.Image)), File: t.File, Line: t.Line}
		}
	}
}
