package inventory

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const discoveryYAML = netYAML + `groups:
  - name: compute
discovery:
  - nodes: cn[001-010]
    network: lab
    ip: "198.18.0.{index+10}"
    groups: [compute]
    serials:
      cn007: "SER-7"
  - nodes: gpu[1-2]
    network: lab
    interface: eno1
    ip: "198.18.0.{index+100}"
nodes:
  - name: cn[001-002]
    interfaces:
      - mac: "52:54:00:00:00:{index:02x}"
        ip: "198.18.0.{index+10}"
  - name: cn004
    interfaces:
      - mac: "52:54:00:00:00:04"
        ip: "198.18.0.14"
`

func TestNextFree(t *testing.T) {
	c, err := Parse("cluster.yaml", []byte(discoveryYAML))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		expr, want, err string
	}{
		{"cn[001-010]", "cn003", ""},
		{"cn[004-010]", "cn005", ""},
		{"cn[010-001]", "", "reversed range"},
		{"cn[001-002]", "", "every name of cn[001-002] in a discovery pool is taken (2 names)"},
		{"gpu[1-2],cn[001-010]", "gpu1", ""},
		{"x[1-3]", "", "no name of x[1-3] is in a discovery pool"},
		{"cn[009-020]", "cn009", ""},
		{"", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := c.NextFree(tt.expr)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("NextFree(%q) = %q, %v; want error %q", tt.expr, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("NextFree(%q) = %q, %v; want %q", tt.expr, got, err, tt.want)
			}
		})
	}
}

func TestBySerialAndFields(t *testing.T) {
	c, err := Parse("cluster.yaml", []byte(discoveryYAML))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ serial, want string }{{"SER-7", "cn007"}, {" SER-7 ", "cn007"}, {"SER-8", ""}, {"", ""}} {
		got, ok := c.BySerial(tt.serial)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("BySerial(%q) = %q, %v; want %q", tt.serial, got, ok, tt.want)
		}
	}
	f, ip, err := c.NodeFields("gpu2", "52:54:00:aa:00:02")
	if err != nil || ip.String() != "198.18.0.102" {
		t.Fatalf("NodeFields(gpu2) = %v, %v, %v", f, ip, err)
	}
	if _, _, err := c.NodeFields("cn011", "52:54:00:aa:00:02"); err == nil || !strings.Contains(err.Error(), "node cn011 is in no discovery pool") {
		t.Errorf("NodeFields(cn011) error = %v", err)
	}
	// The fields make a valid node entry: add it and read the file back.
	path := filepath.Join(t.TempDir(), "cluster.yaml")
	if err := os.WriteFile(path, []byte(discoveryYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, _ = c.NodeFields("cn003", "52:54:00:aa:00:03")
	c2, err := AddNode(path, "cn003", f)
	if err != nil {
		t.Fatal(err)
	}
	n, ok := c2.Node("cn003")
	if !ok || n.BootInterface().IP.String() != "198.18.0.13" || n.BootInterface().MAC.String() != "52:54:00:aa:00:03" || strings.Join(n.Groups, ",") != "compute" {
		t.Fatalf("cn003 after AddNode = %+v", n)
	}
	if next, err := c2.NextFree("cn[001-010]"); err != nil || next != "cn005" {
		t.Errorf("NextFree after adding cn003 = %q, %v; want cn005", next, err)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "discovery:") || !strings.Contains(string(data), `SER-7`) {
		t.Errorf("the edit lost the discovery section:\n%s", data)
	}
}

func TestBadDiscovery(t *testing.T) {
	base := netYAML + "groups:\n  - name: compute\n" // discovery starts at line 9
	tests := []struct{ name, in, want string }{
		{"missing ip", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n", `cluster.yaml:10: discovery[0].ip: missing (required)`},
		{"unknown network", "discovery:\n  - nodes: cn[1-2]\n    network: lob\n    ip: \"198.18.0.{index}\"\n", `cluster.yaml:11: discovery[0].network: unknown network "lob"`},
		{"unknown group", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    groups: [gpu]\n", `cluster.yaml:13: discovery[0].groups[0]: unknown group "gpu"`},
		{"ip outside", "discovery:\n  - nodes: cn[256-300]\n    network: lab\n    ip: \"198.18.0.{index}\"\n", `cluster.yaml:12: discovery[0].ip: node cn256: invalid IPv4 address "198.18.0.256"`},
		{"ip broadcast", "discovery:\n  - nodes: cn[255-256]\n    network: lab\n    ip: \"198.18.0.{index}\"\n", `cluster.yaml:12: discovery[0].ip: node cn255: ip 198.18.0.255 is the network or broadcast address of 198.18.0.0/24`},
		{"ip in pool", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+199}\"\n", `cluster.yaml:12: discovery[0].ip: node cn1: ip 198.18.0.200 is inside network lab's dynamic pool`},
		{"ip server", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index}\"\n", `cluster.yaml:12: discovery[0].ip: node cn1: ip 198.18.0.1 is network lab's server or gateway`},
		{"bad template", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{indx}\"\n", `cluster.yaml:12: discovery[0].ip: `},
		{"bad range", "discovery:\n  - nodes: cn[2-1]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n", `cluster.yaml:10: discovery[0].nodes: item "cn[2-1]": reversed range 2-1`},
		{"overlap", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n  - nodes: cn[2-3]\n    network: lab\n    ip: \"198.18.0.{index+20}\"\n",
			`cluster.yaml:13: discovery[1].nodes: node cn2 is also in discovery[0]`},
		{"serial outside pool", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    serials:\n      cn3: X\n",
			`cluster.yaml:13: discovery[0].serials.cn3: node cn3 is not in this pool's nodes cn[1-2]`},
		{"serial twice", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    serials:\n      cn1: X\n      cn2: X\n",
			`cluster.yaml:13: discovery[0].serials.cn2: serial "X" is also node cn1's`},
		{"empty serial", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    serials:\n      cn1: \"\"\n",
			`cluster.yaml:14: discovery[0].serials.cn1: serial "": want 1-128 printable characters`},
		{"unknown key", "discovery:\n  - nodes: cn[1-2]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    mode: trap\n", `cluster.yaml:13: discovery[0].mode: unknown field "mode"`},
		{"not a list", "discovery: {}\n", `cluster.yaml:9: discovery: want a list, got a mapping`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("cluster.yaml", []byte(base+tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

// FuzzDiscovery: any discovery section either fails with file:line errors
// or gives pools whose every name renders an address and NextFree never
// panics.
func FuzzDiscovery(f *testing.F) {
	f.Add("  - nodes: cn[001-010]\n    network: lab\n    ip: \"198.18.0.{index+10}\"\n    serials:\n      cn001: X\n")
	f.Add("  - nodes: gpu[1-2]\n    network: lab\n    interface: eno1\n    ip: \"198.18.0.{index/2+100}\"\n    groups: [compute]\n")
	f.Add("  - nodes: \"\"\n")
	f.Fuzz(func(t *testing.T, section string) {
		c, err := Parse("cluster.yaml", []byte(netYAML+"groups:\n  - name: compute\ndiscovery:\n"+section))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cluster.yaml:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		for _, p := range c.Pools() {
			for _, name := range p.Names {
				if _, _, err := c.NodeFields(name, "52:54:00:00:00:01"); err != nil {
					t.Fatalf("pool %s name %s: %v", p.Nodes, name, err)
				}
			}
			c.NextFree(p.Nodes)
		}
	})
}
