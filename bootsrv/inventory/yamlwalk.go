package inventory

import (
	"fmt"
	"reflect"

	"gopkg.in/yaml.v3"
)

// decoder walks a yaml.Node tree, recording errors with lines and paths.
type decoder struct {
	errs *errList
}

// kv is one key of a mapping with its value.
type kv struct {
	key, val *yaml.Node
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "an unsupported YAML node"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// mapping checks that n is a mapping without duplicate keys and with only
// keys accepted by known; it returns the values by key and the key order.
func (d *decoder) mapping(n *yaml.Node, path string, known func(string) bool) (map[string]kv, []string, bool) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		d.errs.add(line(n), path, "want a mapping, got %s", kindName(n))
		return nil, nil, false
	}
	m := make(map[string]kv, len(n.Content)/2)
	var order []string
	ok := true
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			d.errs.add(line(k), path, "want a string key, got %s", kindName(k))
			ok = false
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.errs.add(k.Line, join(path, k.Value), "merge keys (<<) are not supported; write the values out or use a group")
			ok = false
			continue
		}
		if prev, dup := m[k.Value]; dup {
			d.errs.add(k.Line, join(path, k.Value), "duplicate key (first at line %d)", prev.key.Line)
			ok = false
			continue
		}
		if !known(k.Value) {
			d.errs.add(k.Line, join(path, k.Value), "unknown field %q", k.Value)
			ok = false
			continue
		}
		m[k.Value] = kv{k, v}
		order = append(order, k.Value)
	}
	return m, order, ok
}

func line(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

// str decodes a scalar as a string, keeping numbers as written.
func (d *decoder) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode {
		switch n.ShortTag() {
		case "!!str", "!!int", "!!float", "!!timestamp":
			return n.Value, true
		}
	}
	d.errs.add(line(n), path, "want a string, got %s", kindName(n))
	return "", false
}

// boolean decodes a YAML boolean.
func (d *decoder) boolean(n *yaml.Node, path string) (bool, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return b, true
		}
	}
	d.errs.add(line(n), path, "want true or false, got %s", kindName(n))
	return false, false
}

// seq returns the items of a list; null is an empty list when nullOK.
func (d *decoder) seq(n *yaml.Node, path string, nullOK bool) ([]*yaml.Node, bool) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" && nullOK {
		return nil, true
	}
	if n == nil || n.Kind != yaml.SequenceNode {
		d.errs.add(line(n), path, "want a list, got %s", kindName(n))
		return nil, false
	}
	return n.Content, true
}

// strList decodes a list of strings.
func (d *decoder) strList(n *yaml.Node, path string) ([]string, []int, bool) {
	items, ok := d.seq(n, path, false)
	if !ok {
		return nil, nil, false
	}
	out := make([]string, 0, len(items))
	lines := make([]int, 0, len(items))
	for i, it := range items {
		s, good := d.str(it, fmt.Sprintf("%s[%d]", path, i))
		ok = ok && good
		out = append(out, s)
		lines = append(lines, line(deref(it)))
	}
	return out, lines, ok
}

// attrSet is a set of attributes with the line of each set key.
type attrSet struct {
	attrs Attrs
	lines map[string]int
}

// isAttrKey reports whether key names an attribute.
func isAttrKey(key string) bool {
	_, ok := attrByKey(key)
	return ok
}

// attrs decodes the attribute keys of m into an attrSet.
func (d *decoder) attrs(m map[string]kv, order []string, path string) attrSet {
	s := attrSet{lines: map[string]int{}}
	for _, key := range order {
		f, ok := attrByKey(key)
		if !ok {
			continue
		}
		p := join(path, key)
		v := m[key].val
		ft := s.attrs.field(f).Type().Elem()
		val := reflect.New(ft)
		if f.list {
			items, _, good := d.strList(v, p)
			if !good {
				continue
			}
			sl := reflect.MakeSlice(ft, 0, len(items))
			for i, it := range items {
				if err := f.check(it); err != nil {
					d.errs.add(line(deref(deref(v).Content[i])), fmt.Sprintf("%s[%d]", p, i), "%v", err)
					good = false
				}
				sl = reflect.Append(sl, reflect.ValueOf(it).Convert(ft.Elem()))
			}
			if !good {
				continue
			}
			val.Elem().Set(sl)
		} else {
			str, good := d.str(v, p)
			if !good {
				continue
			}
			if err := f.check(str); err != nil {
				d.errs.add(line(deref(v)), p, "%v", err)
				continue
			}
			val.Elem().SetString(str)
		}
		s.attrs.field(f).Set(val)
		s.lines[key] = m[key].key.Line
	}
	return s
}
