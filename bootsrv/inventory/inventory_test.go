package inventory

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/noderange"
)

// examplePath is the demo's reference inventory; it must stay valid.
const examplePath = "../../docs/examples/cluster.yaml"

// dump renders a resolved cluster as text for golden files.
func dump(c *Cluster) string {
	var b strings.Builder
	for _, n := range c.Networks() {
		fmt.Fprintf(&b, "network %s interface=%q subnet=%s server=%s gateway=%v dynamic=%v-%v lease=%s\n",
			n.Name, n.Interface, n.Subnet, n.Server, n.Gateway, n.DynamicStart, n.DynamicEnd, n.Lease)
	}
	for _, g := range c.Groups() {
		fmt.Fprintf(&b, "group %s inherit=%v attrs=%v\n", g.Name, g.Inherit, keys(g.Attrs))
	}
	fmt.Fprintf(&b, "defaults attrs=%v\n", keys(c.Defaults()))
	for _, n := range c.Nodes() {
		fmt.Fprintf(&b, "node %s index=%d groups=%v\n", n.Name, n.Index, n.Groups)
		for _, ifc := range n.Interfaces {
			fmt.Fprintf(&b, "  iface %s network=%q mac=%s ip=%v boot=%v\n", ifc.Name, ifc.Network, ifc.MAC, ifc.IP, ifc.Boot)
		}
		m := n.Attrs.Map()
		for _, k := range AttrKeys() {
			v, ok := m[k]
			if !ok {
				continue
			}
			s := n.Blame[k]
			src := s.Kind
			if s.Name != "" {
				src += " " + s.Name
			}
			if s.Via != "" {
				src += " via " + s.Via
			}
			fmt.Fprintf(&b, "  %s = %q  <- %s (%s:%d)\n", k, v, src, s.File, s.Line)
		}
	}
	return b.String()
}

func keys(a Attrs) []string {
	var out []string
	for k := range a.Map() {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	files = append(files, examplePath)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Parse(filepath.Base(f), data)
			if err != nil {
				t.Fatalf("Parse(%s): %v", f, err)
			}
			got := dump(c)
			path := filepath.Join("testdata", strings.TrimSuffix(filepath.Base(f), ".yaml")+".golden")
			if f == examplePath {
				path = "testdata/example.golden"
			}
			golden.Check(t, path, got)
		})
	}
}

func TestQueries(t *testing.T) {
	c, err := Load("testdata/groups.yaml")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{}
	for _, n := range c.Nodes() {
		names = append(names, n.Name)
	}
	if want := []string{"007", "cn01", "cn02", "cn03", "gpu1", "gpu2", "login1"}; !slices.Equal(names, want) {
		t.Errorf("Nodes() = %v, want %v", names, want)
	}
	n, ifc, ok := c.ByMAC(net.HardwareAddr{0x52, 0x54, 0, 1, 0, 0x12})
	if !ok || n.Name != "cn02" || ifc.Name != "ib0" || ifc.IP.String() != "198.19.1.1" {
		t.Errorf("ByMAC(52:54:00:01:00:12) = %v, %v, %v, want cn02 ib0 198.19.1.1", n, ifc, ok)
	}
	if _, _, ok := c.ByMAC(net.HardwareAddr{1, 2, 3, 4, 5, 6}); ok {
		t.Errorf("ByMAC(unknown) found a node")
	}
	if b := n.BootInterface(); b == nil || b.Name != "ib0" {
		t.Errorf("cn02.BootInterface() = %v, want ib0 (boot: true)", b)
	}
	if g, _ := c.Node("gpu1"); g.BootInterface().Name != "net0" {
		t.Errorf("gpu1.BootInterface() = %v, want the first interface", g.BootInterface())
	}
	if s, _ := c.Node("007"); s.BootInterface() != nil {
		t.Errorf("007.BootInterface() = %v, want nil", s.BootInterface())
	}
	if nw, ok := c.NetworkFor(netip.MustParseAddr("198.19.3.4")); !ok || nw.Name != "data" {
		t.Errorf("NetworkFor(198.19.3.4) = %v, %v, want data", nw, ok)
	}
	if _, ok := c.NetworkFor(netip.MustParseAddr("10.0.0.1")); ok {
		t.Errorf("NetworkFor(10.0.0.1) found a network")
	}
	got, err := c.Match("cn[01-02],login1")
	if err != nil || len(got) != 3 || got[2].Name != "login1" {
		t.Errorf("Match(cn[01-02],login1) = %v, %v", got, err)
	}
	if _, err := c.Match("cn[01-05],zz1"); err == nil || !strings.Contains(err.Error(), "cn[04-05],zz1") {
		t.Errorf("Match(cn[01-05],zz1) error = %v, want it to name cn[04-05],zz1", err)
	}
	a := n.API(true)
	if a.Attrs["mode"] != "ramroot" || a.Blame["mode"].Name != "compute" || len(a.Interfaces) != 2 || a.Interfaces[1].MAC != "52:54:00:01:00:12" {
		t.Errorf("API(true) = %+v", a)
	}
	if keys, ok := a.Attrs["ssh_keys"].([]string); !ok || len(keys) != 1 {
		t.Errorf("API ssh_keys = %#v, want []string with one key", a.Attrs["ssh_keys"])
	}
	if a := n.API(false); a.Blame != nil {
		t.Errorf("API(false).Blame = %v, want nil", a.Blame)
	}
	if d := c.Defaults(); Val(d.Kernel) != "vmlinuz" || Val(d.Image) != "" {
		t.Errorf("Defaults() kernel=%q image=%q", Val(d.Kernel), Val(d.Image))
	}
}

func TestEmpty(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "---\n", "nodes:\n", "nodes: []\ngroups: []\n"} {
		c, err := Parse("cluster.yaml", []byte(in))
		if err != nil || len(c.Nodes()) != 0 {
			t.Errorf("Parse(%q) = %v, %v, want an empty cluster", in, c, err)
		}
	}
}

// TestAttrsFields guards the "one field per attribute" rule.
func TestAttrsFields(t *testing.T) {
	typ := reflect.TypeFor[Attrs]()
	if len(attrFields) != typ.NumField() {
		t.Fatalf("attrFields has %d entries, Attrs has %d fields", len(attrFields), typ.NumField())
	}
	want := []string{"mode", "kernel", "initrd", "cmdline", "ssh_keys", "image", "console", "zram_size", "zram_algorithm", "overlays", "init", "transport",
		"iscsi_portals", "iscsi_target", "iscsi_initiator", "iscsi_multipath", "iscsi_lun", "iscsi_volume_groups",
		"luks_key", "chap_user", "chap_secret", "mutual_chap_user", "mutual_chap_secret",
		"discovery_chap_user", "discovery_chap_secret", "discovery_mutual_chap_user", "discovery_mutual_chap_secret",
		"statelite", "nfsroot", "data_export",
		"partscript", "postscript", "install_disk", "install_wipe", "bootloader", "install_cmdline",
		"postscripts",
		"bmc_address", "bmc_user", "bmc_password", "setupbmc"}
	if got := AttrKeys(); !slices.Equal(got, want) {
		t.Errorf("AttrKeys() = %v, want %v", got, want)
	}
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		tmpl, name, want string
	}{
		{"52:54:00:00:00:{index:02x}", "cn010", "52:54:00:00:00:0a"},
		{"198.18.0.{index+10}", "cn007", "198.18.0.17"},
		{"198.18.0.{index-1}", "cn007", "198.18.0.6"},
		{"{index+16:03d}", "n1", "017"},
		{"198.18.{index/256}.{index%256}", "cn00300", "198.18.1.44"},
		{"{index%256+1}", "cn00255", "256"},
		{"{name}-x", "login1", "login1-x"},
		{"{index:X}", "n255", "FF"},
		{"plain", "a", "plain"},
	}
	for _, tt := range tests {
		tp, err := compileTemplate(tt.tmpl)
		if err != nil {
			t.Fatalf("compileTemplate(%q): %v", tt.tmpl, err)
		}
		idx, ok := noderange.Index(tt.name)
		got, err := tp.render(tt.name, idx, ok)
		if err != nil || got != tt.want {
			t.Errorf("render(%q, %s) = %q, %v, want %q", tt.tmpl, tt.name, got, err, tt.want)
		}
	}
	for _, bad := range []string{"{index", "x}", "{idx}", "{index*2}", "{index:s}", "{name+1}", "{index/0}", "{index+1/2}", "{index:%d}"} {
		if _, err := compileTemplate(bad); err == nil {
			t.Errorf("compileTemplate(%q) = nil error, want one", bad)
		}
	}
	tp, _ := compileTemplate("{index-10}")
	if _, err := tp.render("cn5", 5, true); err == nil {
		t.Errorf("render({index-10}, cn5) = nil error, want negative index error")
	}
	if _, err := tp.render("login", 0, false); err == nil {
		t.Errorf("render({index-10}, login) = nil error, want no-number error")
	}
}
