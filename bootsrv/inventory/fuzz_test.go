package inventory

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/noderange"
)

// FuzzParse checks that arbitrary YAML never panics Parse and that a
// successful result is consistent. Seeds: testdata/*.yaml and the example.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, p := range append(files, examplePath) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("nodes:\n  - name: cn[1-2]\n    interfaces:\n      - mac: 52:54:00:00:00:{index}\n"))
	f.Add([]byte("groups:\n  - name: a\n    inherit: [a]\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("cluster.yaml", data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a cluster with error %v", err)
			}
			return
		}
		var names []string
		for i, n := range c.Nodes() {
			if i > 0 && !noderange.Less(c.Nodes()[i-1].Name, n.Name) {
				t.Fatalf("Nodes() not in natural order at %s", n.Name)
			}
			names = append(names, n.Name)
			for j := range n.Interfaces {
				got, ifc, ok := c.ByMAC(n.Interfaces[j].MAC)
				if !ok || got != n || ifc != &n.Interfaces[j] {
					t.Fatalf("ByMAC(%s) does not find %s", n.Interfaces[j].MAC, n.Name)
				}
			}
		}
		if len(names) > 0 && len(names) < 5000 {
			got, err := c.Match(noderange.Compact(names))
			if err != nil || len(got) != len(names) {
				t.Fatalf("Match(Compact(all nodes)) = %d nodes, %v; want %d", len(got), err, len(names))
			}
		}
	})
}

// scaleYAML is an inventory of n nodes in one range entry with templates.
func scaleYAML(n int) []byte {
	return fmt.Appendf(nil, `networks:
  - name: lab
    subnet: 198.18.0.0/15
    server: 198.18.0.1
    dynamic: 198.19.255.1-198.19.255.250
defaults:
  mode: trap
  kernel: vmlinuz
  initrd: trap.cpio.gz
groups:
  - name: base
    ssh_keys: [%q]
  - name: compute
    inherit: [base]
    mode: ramroot
nodes:
  - name: cn[00001-%05d]
    groups: [compute]
    interfaces:
      - name: net0
        network: lab
        mac: "525400{index:06x}"
        ip: "198.18.{index/256+1}.{index%%256}"
  - name: login1
    interfaces:
      - mac: 52:54:01:00:00:01
        ip: 198.18.0.5
`, key, n)
}

func TestScale10000(t *testing.T) {
	data := scaleYAML(10000)
	start := time.Now()
	c, err := Parse("cluster.yaml", data)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Nodes()) != 10001 {
		t.Fatalf("Parse = %d nodes, want 10001", len(c.Nodes()))
	}
	last := c.Nodes()[9999]
	if last.Name != "cn10000" || last.Interfaces[0].IP.String() != "198.18.40.16" || last.Interfaces[0].MAC.String() != "52:54:00:00:27:10" {
		t.Errorf("cn10000 = %s %v %v", last.Name, last.Interfaces[0].IP, last.Interfaces[0].MAC)
	}
	t.Logf("10,001 nodes parsed and resolved in %v", elapsed)
	if elapsed > 5*time.Second && !strings.Contains(os.Getenv("GOFLAGS"), "race") {
		t.Errorf("parsing 10,001 nodes took %v, want well under a second", elapsed)
	}
}

func BenchmarkParse10000(b *testing.B) {
	data := scaleYAML(10000)
	for b.Loop() {
		if _, err := Parse("cluster.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
