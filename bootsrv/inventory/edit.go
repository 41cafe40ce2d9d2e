package inventory

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"gopkg.in/yaml.v3"

	"github.com/disklesstrap/disklesstrap/noderange"
)

// Edits rewrite the YAML node tree (comments survive where yaml.v3 keeps
// them), validate the whole result with Parse and only then replace the file
// atomically. On any error the file is untouched.
//
// SetNodes on some nodes of a range entry splits them out: the entry's name
// becomes the range of the remaining nodes and a copy of the entry named
// after the targeted nodes, with the change applied, follows it. Templates
// keep working because they depend only on each node's own name.

// editMu serialises edits made by this process.
var editMu sync.Mutex

// nodeKeys are the keys fields may set on a node entry.
func nodeKey(k string) bool { return k == "groups" || k == "interfaces" || isAttrKey(k) }

// AddNode adds one entry for name (a node or a range) with fields (YAML keys
// of a node entry: groups, interfaces and attributes). Every edit runs
// checks on the new inventory before writing it (bootsrv's check of the
// litefile rules against its images); one failing leaves the file as it
// was.
func AddNode(path, name string, fields map[string]any, checks ...func(*Cluster) error) (*Cluster, error) {
	return edit(path, checks, func(c *Cluster, root *yaml.Node) error {
		names, err := noderange.ParseMax(name, MaxNodes)
		if err != nil {
			return err
		}
		var exist []string
		for _, n := range names {
			if _, ok := c.Node(n); ok {
				exist = append(exist, n)
			}
		}
		if len(exist) > 0 {
			return fmt.Errorf("node(s) already exist: %s", noderange.Compact(exist))
		}
		entry := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		setKey(entry, "name", strNode(name))
		if err := applyFields(entry, fields, false); err != nil {
			return err
		}
		seq, err := nodesSeq(root, true)
		if err != nil {
			return err
		}
		seq.Content = append(seq.Content, entry)
		return nil
	})
}

// SetNodes sets fields on every node of rangeExpr. A nil value removes the
// key from the node entry (the value is then inherited again).
func SetNodes(path, rangeExpr string, fields map[string]any, checks ...func(*Cluster) error) (*Cluster, error) {
	return edit(path, checks, func(c *Cluster, root *yaml.Node) error {
		if len(fields) == 0 {
			return fmt.Errorf("no fields to set")
		}
		return rewriteEntries(c, root, rangeExpr, func(entry *yaml.Node) error {
			return applyFields(entry, fields, true)
		})
	})
}

// DeleteNodes removes every node of rangeExpr from the inventory.
func DeleteNodes(path, rangeExpr string, checks ...func(*Cluster) error) (*Cluster, error) {
	return edit(path, checks, func(c *Cluster, root *yaml.Node) error {
		return rewriteEntries(c, root, rangeExpr, nil)
	})
}

// rewriteEntries applies change (nil: delete) to the targeted nodes of each
// entry, splitting range entries where only some of their nodes are targeted.
func rewriteEntries(c *Cluster, root *yaml.Node, rangeExpr string, change func(*yaml.Node) error) error {
	targets, err := c.Match(rangeExpr)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(targets))
	for _, n := range targets {
		want[n.Name] = true
	}
	seq, err := nodesSeq(root, false)
	if err != nil {
		return err
	}
	var out []*yaml.Node
	for i, item := range seq.Content {
		entry := item
		if entry.Kind != yaml.MappingNode {
			return fmt.Errorf("nodes[%d]: entries written as YAML aliases cannot be edited", i)
		}
		nameNode := getKey(entry, "name")
		names, err := noderange.Parse(deref(nameNode).Value)
		if err != nil {
			return fmt.Errorf("nodes[%d].name: %w", i, err)
		}
		var hit, rest []string
		for _, n := range names {
			if want[n] {
				hit = append(hit, n)
			} else {
				rest = append(rest, n)
			}
		}
		switch {
		case len(hit) == 0:
			out = append(out, entry)
		case len(rest) == 0:
			if change != nil {
				if err := change(entry); err != nil {
					return err
				}
				out = append(out, entry)
			}
		default:
			setKey(entry, "name", strNode(noderange.Compact(rest)))
			out = append(out, entry)
			if change != nil {
				split := cloneNode(entry)
				split.HeadComment = ""
				setKey(split, "name", strNode(noderange.Compact(hit)))
				if err := change(split); err != nil {
					return err
				}
				out = append(out, split)
			}
		}
	}
	seq.Content = out
	return nil
}

// applyFields writes fields into a node entry mapping, in a stable order.
func applyFields(entry *yaml.Node, fields map[string]any, allowNil bool) error {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !nodeKey(k) {
			if k == "name" {
				return fmt.Errorf("field %q cannot be set (delete the node and add it again)", k)
			}
			return fmt.Errorf("unknown field %q (want groups, interfaces or one of %v)", k, AttrKeys())
		}
		v := fields[k]
		if v == nil {
			if !allowNil {
				return fmt.Errorf("field %q: no value", k)
			}
			delKey(entry, k)
			continue
		}
		n := &yaml.Node{}
		if err := n.Encode(v); err != nil {
			return fmt.Errorf("field %q: %w", k, err)
		}
		setKey(entry, k, n)
	}
	return nil
}

// nodesSeq returns the top-level nodes list, creating it when create is set.
func nodesSeq(root *yaml.Node, create bool) (*yaml.Node, error) {
	v := getKey(root, "nodes")
	if v == nil || isNull(v) {
		if !create {
			return nil, fmt.Errorf("the inventory has no nodes")
		}
		v = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		setKey(root, "nodes", v)
		return v, nil
	}
	if v.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("nodes: want a list (aliases cannot be edited)")
	}
	return v, nil
}

// edit runs fn on the parsed file and writes the validated result.
func edit(path string, checks []func(*Cluster) error, fn func(*Cluster, *yaml.Node) error) (*Cluster, error) {
	editMu.Lock()
	defer editMu.Unlock()
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, fmt.Errorf("inventory edit: %w", err)
	}
	data, err := os.ReadFile(real)
	if err != nil {
		return nil, fmt.Errorf("inventory edit: %w", err)
	}
	cur, err := Parse(path, data)
	if err != nil {
		return nil, fmt.Errorf("inventory edit: current file is invalid, fix it first:\n%w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("inventory edit: %w", syntaxError(path, err))
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		*root = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", HeadComment: root.HeadComment}
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("inventory edit %s: top level is not a mapping", path)
	}
	if err := fn(cur, root); err != nil {
		return nil, fmt.Errorf("inventory edit %s: %w", path, err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("inventory edit %s: encode: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("inventory edit %s: encode: %w", path, err)
	}
	c, err := Parse(path, buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("inventory edit %s: result is invalid, file left unchanged:\n%w", path, err)
	}
	// Node edits leave the litefile and litetree sections alone: checks
	// see the new nodes with the rules as the file on disk has them, so
	// a refusal names the lines the admin sees.
	view := *c
	view.lite = cur.lite
	for _, check := range checks {
		if err := check(&view); err != nil {
			return nil, fmt.Errorf("inventory edit %s: result is invalid, file left unchanged:\n%w", path, err)
		}
	}
	if err := writeAtomic(real, buf.Bytes()); err != nil {
		return nil, fmt.Errorf("inventory edit: %w", err)
	}
	return c, nil
}
