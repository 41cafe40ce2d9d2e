package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
)

func TestFoldPower(t *testing.T) {
	tests := []struct {
		name string
		in   []api.PowerResult
		want []string
	}{
		{"one state", []api.PowerResult{{Node: "cn001", State: "on"}, {Node: "cn002", State: "on"}, {Node: "cn003", State: "on"}},
			[]string{"cn[001-003]: on"}},
		{"mixed, errors last", []api.PowerResult{
			{Node: "cn001", State: "on"}, {Node: "cn002", Error: "BMC 198.18.0.102:623: authentication failed"},
			{Node: "cn003", State: "off"}, {Node: "cn004", State: "on"}, {Node: "cn010", State: "on"},
			{Node: "cn005", Error: "BMC 198.18.0.105:623: authentication failed"},
		}, []string{"cn[001,004,010]: on", "cn003: off", "cn002: error: BMC 198.18.0.102:623: authentication failed",
			"cn005: error: BMC 198.18.0.105:623: authentication failed"}},
		{"empty", nil, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := foldPower(tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("foldPower:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestPowerFailures(t *testing.T) {
	if err := powerFailures([]api.PowerResult{{Node: "cn001", State: "on"}}); err != nil {
		t.Errorf("no failures: %v", err)
	}
	err := powerFailures([]api.PowerResult{{Node: "cn001", Error: "x"}, {Node: "cn002", State: "on"}, {Node: "cn003", Error: "y"}})
	if err == nil || err.Error() != "power: 2 of 3 node(s) failed: cn[001,003]" {
		t.Errorf("powerFailures = %v", err)
	}
}
