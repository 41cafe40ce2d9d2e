package main

import (
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// attrOrder is the display order of attributes in `node show`; keys the
// server knows beyond these follow alphabetically.
var attrOrder = []string{"mode", "kernel", "initrd", "cmdline", "ssh_keys", "image", "console"}

var nodeList = &command{
	name: "node list", args: "[RANGE]", summary: "list nodes (all, or a range)",
	maxArgs: 1,
	run: func(e *env, args []string) error {
		nodes, err := e.client().Nodes(e.ctx, argOr(args, 0), false)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, nodes)
		}
		t := newTable(e.stdout, "NODE", "GROUPS", "MODE", "MAC", "IP")
		for _, n := range nodes {
			var mac, ip string
			if len(n.Interfaces) > 0 {
				mac, ip = n.Interfaces[0].MAC, n.Interfaces[0].IP
			}
			t.row(n.Name, strings.Join(n.Groups, ","), valueString(n.Attrs["mode"]), mac, ip)
		}
		return t.flush()
	},
}

var nodeShowBlame bool

var nodeShow = &command{
	name: "node show", args: "NAME [--blame]", summary: "show a node's resolved attributes (--blame: where each came from)",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&nodeShowBlame, "blame", false, "show the source (node, group, defaults; file:line) of every attribute")
	},
	run: func(e *env, args []string) error {
		n, err := e.client().Node(e.ctx, args[0], nodeShowBlame)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, n)
		}
		t := &attrRows{}
		t.add("name", n.Name, "")
		t.add("groups", strings.Join(n.Groups, ","), "")
		for _, ifc := range n.Interfaces {
			t.add("interface", strings.Join(nonEmpty(ifc.Name, ifc.Network, ifc.MAC, ifc.IP), " "), "")
		}
		for _, k := range attrKeys(n.Attrs) {
			src := ""
			if s, ok := n.Blame[k]; ok {
				src = sourceString(s)
			} else if nodeShowBlame {
				src = "-"
			}
			for i, v := range valueLines(n.Attrs[k]) {
				key := k
				if i > 0 {
					key, src = " ", ""
				}
				t.add(key, v, src)
			}
		}
		return t.write(e.stdout)
	},
}

var nodeAdd = &command{
	name: "node add", args: "NAME|RANGE key=value...", summary: "add nodes to the inventory", help: fieldsHelp,
	minArgs: 1, maxArgs: -1,
	run: func(e *env, args []string) error {
		fields, err := parseFields(args[1:])
		if err != nil {
			return err
		}
		nodes, err := e.client().AddNodes(e.ctx, api.NodeEdit{Name: args[0], Fields: fields})
		if err != nil {
			return err
		}
		return printEdited(e, "added", nodes)
	},
}

var nodeSet = &command{
	name: "node set", args: "RANGE key=value...", summary: "set attributes of nodes in the inventory", help: fieldsHelp,
	minArgs: 2, maxArgs: -1,
	run: func(e *env, args []string) error {
		fields, err := parseFields(args[1:])
		if err != nil {
			return err
		}
		nodes, err := e.client().SetNodes(e.ctx, args[0], fields)
		if err != nil {
			return err
		}
		return printEdited(e, "updated", nodes)
	},
}

var nodeDelete = &command{
	name: "node delete", args: "RANGE", summary: "remove nodes from the inventory",
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		nodes, err := e.client().DeleteNodes(e.ctx, args[0])
		if err != nil {
			return err
		}
		return printEdited(e, "deleted", nodes)
	},
}

func printEdited(e *env, verb string, nodes []api.Node) error {
	if e.output == "json" {
		return writeJSON(e.stdout, nodes)
	}
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	_, err := printf(e.stdout, "%s %d node(s): %s\n", verb, len(nodes), noderange.Compact(names))
	return err
}

// attrKeys orders the attributes to show: the known ones (set or not),
// then any others alphabetically.
func attrKeys(attrs map[string]any) []string {
	keys := slices.Clone(attrOrder)
	var extra []string
	for k := range attrs {
		if !slices.Contains(attrOrder, k) {
			extra = append(extra, k)
		}
	}
	sort.Strings(extra)
	return append(keys, extra...)
}

// sourceString: "node cn[001-004] (cluster.yaml:30)", "group base via
// compute>base (cluster.yaml:20)", "defaults (cluster.yaml:14)".
func sourceString(s api.Source) string {
	var out string
	switch s.Kind {
	case "node":
		out = "node"
		if s.Name != "" {
			out += " " + s.Name
		}
	case "group":
		out = "group " + s.Name
		if s.Via != "" {
			out += " via " + s.Via
		}
	case "default":
		out = "defaults"
	default:
		out = s.Kind
	}
	if s.File != "" {
		loc := filepath.Base(s.File)
		if s.Line > 0 {
			loc += fmt.Sprintf(":%d", s.Line)
		}
		out += " (" + loc + ")"
	}
	return out
}

// valueLines renders an attribute value; a list gives one line per item.
func valueLines(v any) []string {
	switch t := v.(type) {
	case nil:
		return []string{""}
	case string:
		if strings.Contains(t, "\n") { // an inline script: one row per line
			return strings.Split(strings.TrimRight(t, "\n"), "\n")
		}
	case []any:
		if len(t) == 0 {
			return []string{"[]"}
		}
		out := make([]string, len(t))
		for i, x := range t {
			out[i] = fmt.Sprint(x)
		}
		return out
	}
	return []string{fmt.Sprint(v)}
}

func valueString(v any) string { return strings.Join(valueLines(v), ",") }

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func argOr(args []string, i int) string {
	if i < len(args) {
		return args[i]
	}
	return ""
}
