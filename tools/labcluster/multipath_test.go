package labcluster

import (
	"reflect"
	"testing"

	"github.com/disklesstrap/disklesstrap/tools/lab"
)

func TestSecondNIC(t *testing.T) {
	one := Node{Name: "cn001", MAC: "52:54:00:18:00:01", IP: "198.18.0.11"}
	two := Node{Name: "cn021", MAC: "52:54:00:18:00:21", IP: "198.18.0.21", MAC2: "52:54:00:19:00:21", IP2: "198.19.0.21"}
	tests := []struct {
		name        string
		opts        Options
		wantBridges []lab.Bridge
	}{
		{"single NIC keeps the lab default", Options{Nodes: []Node{one}}, nil},
		{"a second NIC adds br1", Options{Nodes: []Node{one, two}}, DefaultBridges},
		{"explicit bridges win", Options{Nodes: []Node{two}, Bridges: []lab.Bridge{lab.DefaultBridge}}, []lab.Bridge{lab.DefaultBridge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.opts.bridges(); !reflect.DeepEqual(got, tt.wantBridges) {
				t.Errorf("bridges() = %v, want %v", got, tt.wantBridges)
			}
		})
	}
	if got := one.macs(); !reflect.DeepEqual(got, []string{one.MAC}) {
		t.Errorf("macs() = %v, want one NIC", got)
	}
	if got := two.macs(); !reflect.DeepEqual(got, []string{two.MAC, two.MAC2}) {
		t.Errorf("macs() = %v, want two NICs", got)
	}
	if got := secondInterface(one); got != "" {
		t.Errorf("secondInterface(single NIC) = %q, want empty", got)
	}
	want := "      - name: net1\n        network: lab2\n        mac: \"52:54:00:19:00:21\"\n        ip: 198.19.0.21\n"
	if got := secondInterface(two); got != want {
		t.Errorf("secondInterface() = %q, want %q", got, want)
	}
	if got, want := extraNetworks(DefaultBridges), "  - name: lab2\n    subnet: 198.19.0.0/24\n    server: 198.19.0.1\n"; got != want {
		t.Errorf("extraNetworks() = %q, want %q", got, want)
	}
	if got := extraNetworks([]lab.Bridge{lab.DefaultBridge}); got != "" {
		t.Errorf("extraNetworks(one bridge) = %q, want empty", got)
	}
}
