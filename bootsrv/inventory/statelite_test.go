package inventory

import (
	"fmt"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

// liteYAML: two images, all-images and per-image rules (one replacing an
// all-images rule), litetree sources with priorities and templates, a
// store per group and per node.
const liteYAML = `litefile:
  - path: /etc/motd
  - path: /etc/hosts
    option: con
  - path: /var/log/
  - path: /root/
    option: persistent
  - path: /etc/ssh/
    option: ro
  - path: /etc/motd
    option: ro
    image: gpu
  - path: /opt/licence
    option: "con, persistent"
    image: gpu
litetree:
  - source: "198.18.0.1:/lite/common"
    priority: 5
  - source: "198.18.0.1:/lite/{group}/{node}"
    priority: 1
  - source: "198.18.0.2:/lite/{image}-{rack}"
    priority: 3
    image: gpu
  - source: "data:/lite/{group}"
    priority: 4
groups:
  - name: compute
    mode: statelite
    image: base
    statelite: "198.18.0.1:/state"
    data_export: "198.18.0.1:/srv/data"
  - name: accel
    inherit: [compute]
    image: gpu
    rack: r1
nodes:
  - name: cn[1-2]
    groups: [compute]
  - name: gpu1
    groups: [accel]
  - name: gpu2
    groups: [accel]
    statelite: "198.18.0.1:/state"
  - name: plain1
    mode: trap
`

// TestLiteResolution: every node's rules (per-image over all-images),
// its sources in priority order rendered for it, and its store, as a
// golden table.
func TestLiteResolution(t *testing.T) {
	in := strings.Replace(liteYAML, "    rack: r1\n", "", 1)
	in = strings.Replace(in, "{image}-{rack}", "{image}-{index}", 1)
	c, err := Parse("cluster.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, n := range c.Nodes() {
		fmt.Fprintf(&b, "== %s (image %s)\n", n.Name, Val(n.Attrs.Image))
		if n.Lite == nil {
			b.WriteString("  no statelite rules\n")
			continue
		}
		if n.Lite.Err != nil {
			fmt.Fprintf(&b, "  not statelite; manifest problem: %v\n", n.Lite.Err)
		}
		for _, f := range n.Lite.Files {
			fmt.Fprintf(&b, "  litefile %-14s %-15s image %-4s line %d\n", f.Path, f.Option, scopeName(f.Image), f.Line)
		}
		for i, s := range n.Lite.Tree {
			fmt.Fprintf(&b, "  litetree %d %-32s from %q line %d\n", i+1, s.Export, s.Template, s.Line)
		}
		fmt.Fprintf(&b, "  store %s (%s)\n", n.Lite.Store, sourceOf(n, "statelite"))
		api := n.API(true)
		fmt.Fprintf(&b, "  blame litefile /etc/motd: %s line %d\n", api.Blame["litefile /etc/motd"].Kind, api.Blame["litefile /etc/motd"].Line)
	}
	golden.Check(t, "testdata/statelite_resolution.golden", b.String())
}

func sourceOf(n *Node, key string) string {
	s, ok := n.Blame[key]
	if !ok {
		return "unset"
	}
	return fmt.Sprintf("%s %s line %d", s.Kind, s.Name, s.Line)
}

// TestLiteBadRules: every bad rule is refused with file:line: field.
func TestLiteBadRules(t *testing.T) {
	base := "groups:\n  - name: g\n    mode: statelite\n    statelite: \"198.18.0.1:/state\"\nnodes:\n  - name: cn1\n    groups: [g]\n" // lines 1-7
	tests := []struct {
		name, in, want string
	}{
		{"persistent and ro", base + "litefile:\n  - path: /etc/x\n    option: persistent\n  - path: /etc/x\n    option: ro\n",
			`cluster.yaml:12: litefile[1].option: /etc/x is both persistent (line 10) and ro for image ALL: one rule per path`},
		{"relative path", base + "litefile:\n  - path: etc/x\n",
			`cluster.yaml:9: litefile[0].path: path "etc/x": want an absolute path (a folder ends in /)`},
		{"unclean path", base + "litefile:\n  - path: /etc/../x\n", `cluster.yaml:9: litefile[0].path: path "/etc/../x": not clean`},
		{"statelite's own path", base + "litefile:\n  - path: /.default/x\n", `cluster.yaml:9: litefile[0].path: path "/.default/x": /.default is statelite's own`},
		{"unknown option", base + "litefile:\n  - path: /etc/x\n    option: rw\n",
			`cluster.yaml:10: litefile[0].option: option "rw": want one of tmpfs, con, persistent, persistent,con, ro`},
		{"con folder", base + "litefile:\n  - path: /etc/x/\n    option: con\n",
			`cluster.yaml:10: litefile[0].option: /etc/x/: con applies to files; a folder (trailing /) cannot be concatenated`},
		{"twice", base + "litefile:\n  - path: /etc/x\n  - path: /etc/x\n", `cluster.yaml:10: litefile[1].path: /etc/x listed twice for image ALL (first at line 9)`},
		{"file and folder", base + "litefile:\n  - path: /etc/x/\n  - path: /etc/x\n", `cluster.yaml:10: litefile[1].path: /etc/x listed twice for image ALL (first at line 9)`},
		{"nested", base + "litefile:\n  - path: /etc/\n  - path: /etc/x\n", `cluster.yaml:10: litefile[1].path: /etc/x is inside folder rule /etc/ (line 9): one rule per tree`},
		{"missing path", base + "litefile:\n  - option: ro\n", `cluster.yaml:9: litefile[0].path: missing (required)`},
		{"unknown rule field", base + "litefile:\n  - path: /x\n    mode: ro\n", `cluster.yaml:10: litefile[0].mode: unknown field "mode"`},
		{"bad image name", base + "litefile:\n  - path: /x\n    image: a b\n", `cluster.yaml:10: litefile[0].image: image name "a b": want a registry image name or ALL`},
		{"two stores", base + "  - name: cn2\n    groups: [g]\n    statelite: \"198.18.0.2:/state\"\n",
			`cluster.yaml:8: nodes[1].statelite: node(s) cn2 get two persistent stores: 198.18.0.2:/state from node entry cn2 (line 10) and 198.18.0.1:/state from group g (line 4); set it in one place`},
		{"bad store", "defaults:\n  statelite: nfs-server:/state\n", `cluster.yaml:2: defaults.statelite: export "nfs-server:/state": server "nfs-server": want an IP address`},
		{"bad nfsroot", "defaults:\n  nfsroot: 198.18.0.1\n", `cluster.yaml:2: defaults.nfsroot: export "198.18.0.1": want ADDR:/PATH (an NFS export)`},
		{"untemplatable source", base + "litetree:\n  - source: \"198.18.0.1:/lite/{rack}\"\n",
			`cluster.yaml:9: litetree[0].source: unknown placeholder {rack} in "198.18.0.1:/lite/{rack}"`},
		{"node without the attribute", base + "litetree:\n  - source: \"198.18.0.1:/lite/{console}\"\n",
			`cluster.yaml:9: litetree[0].source: node cn1 cannot be templated into "198.18.0.1:/lite/{console}": {console}: node cn1 has no console attribute`},
		{"node without a group", "defaults:\n  mode: statelite\nnodes:\n  - name: cn1\nlitetree:\n  - source: \"198.18.0.1:/lite/{group}\"\n",
			`cluster.yaml:6: litetree[0].source: node cn1 cannot be templated into "198.18.0.1:/lite/{group}": {group}: node cn1 is in no group`},
		{"template gives no export", base + "litetree:\n  - source: \"{node}:/lite\"\n",
			`cluster.yaml:9: litetree[0].source: node cn1 cannot be templated into "{node}:/lite": export "cn1:/lite": server "cn1": want an IP address`},
		{"list attribute in template", base + "litetree:\n  - source: \"198.18.0.1:/{overlays}\"\n",
			`cluster.yaml:9: litetree[0].source: placeholder {overlays}: overlays is a list attribute; want one value`},
		{"bad priority", base + "litetree:\n  - source: \"198.18.0.1:/a\"\n    priority: first\n",
			`cluster.yaml:10: litetree[0].priority: "first": want a number from 0 (first) to 1000000`},
		{"static source not an export", base + "litetree:\n  - source: /srv/lite\n", `cluster.yaml:9: litetree[0].source: export "/srv/lite": want ADDR:/PATH`},
		{"data source without data_export", "defaults:\n  mode: statelite\nnodes:\n  - name: cn1\nlitetree:\n  - source: \"data:/lite\"\n",
			`cluster.yaml:6: litetree[0].source: node cn1 cannot be templated into "data:/lite": data:/lite: node cn1 has no data_export attribute (the NFS export of bootsrv's data folder, ADDR:/PATH)`},
		{"data source outside the data folder", base + "litetree:\n  - source: \"data:/lite/../../etc\"\n",
			`cluster.yaml:9: litetree[0].source: source "data:/lite/../../etc": want data:/PATH, a clean path inside bootsrv's data folder`},
		{"data source relative", base + "litetree:\n  - source: \"data:lite/{node}\"\n",
			`cluster.yaml:9: litetree[0].source: node cn1 cannot be templated into "data:lite/{node}": source "data:lite/cn1": want data:/PATH`},
		{"bad data_export", "defaults:\n  data_export: /srv/data\n", `cluster.yaml:2: defaults.data_export: export "/srv/data": want ADDR:/PATH`},
		{"persistent without store", "defaults:\n  mode: statelite\nnodes:\n  - name: cn1\nlitefile:\n  - path: /root/\n    option: persistent\n",
			`cluster.yaml:6: litefile: /root/ is persistent but node cn1 has no persistent store (set its statelite attribute to ADDR:/EXPORT)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("cluster.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse = %d nodes, want error %q", len(c.Nodes()), tt.want)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.HasPrefix(line, tt.want) {
					return
				}
			}
			t.Errorf("Parse error =\n%v\nwant a line starting with\n%s", err, tt.want)
		})
	}
}

// TestLiteNotStatelite: a node that is not statelite in the inventory is
// not refused for a source it cannot be templated into; its NodeLite
// carries the reason for the manifest.
func TestLiteNotStatelite(t *testing.T) {
	c, err := Parse("cluster.yaml", []byte("nodes:\n  - name: cn1\nlitetree:\n  - source: \"198.18.0.1:/lite/{group}\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := c.Node("cn1")
	if n.Lite == nil || n.Lite.Err == nil || !strings.Contains(n.Lite.Err.Error(), "cluster.yaml:4") {
		t.Fatalf("cn1 Lite = %+v, want the template error with its line", n.Lite)
	}
}
