package inventory

import (
	"testing"
)

// FuzzLiteRules: arbitrary litefile and litetree sections never panic
// Parse; what it accepts for a statelite node is a valid manifest
// section (the agent's own check).
func FuzzLiteRules(f *testing.F) {
	f.Add("  - path: /etc/motd\n  - path: /root/\n    option: persistent\n", "  - source: \"198.18.0.1:/lite/{group}\"\n    priority: 2\n")
	f.Add("  - path: /etc/\n  - path: /etc/x\n", "  - source: \"{node}:/x\"\n")
	f.Add("  - {path: /a, option: \"con,persistent\", image: ALL}\n", "  - {source: \"[::1]:/a\", image: img}\n")
	f.Add("  - path: /.statelite/x\n", "  - source: \"198.18.0.1:/{image}{index}\"\n")
	f.Add("  - path: /etc/motd\n", "  - source: \"data:/lite/{node}\"\n  - source: data:/../x\n")
	f.Fuzz(func(t *testing.T, files, tree string) {
		doc := "groups:\n  - name: g\n    mode: statelite\n    image: img\n    statelite: \"198.18.0.1:/state\"\n    data_export: \"198.18.0.1:/data\"\nnodes:\n  - name: cn1\n    groups: [g]\nlitefile:\n" + files + "litetree:\n" + tree
		c, err := Parse("cluster.yaml", []byte(doc))
		if err != nil {
			return
		}
		for _, n := range c.Nodes() {
			if n.Lite == nil {
				continue
			}
			if n.Lite.Err != nil {
				t.Fatalf("statelite node %s accepted with a template error: %v", n.Name, n.Lite.Err)
			}
			if err := n.Lite.Manifest().Validate(); err != nil {
				t.Fatalf("accepted rules fail the manifest check: %v\n%s", err, doc)
			}
		}
	})
}
