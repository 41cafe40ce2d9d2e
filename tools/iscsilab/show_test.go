package iscsilab

import (
	"reflect"
	"testing"
)

const showSample = `Target 1: iqn.2026-11.lab.dt:testos
    System information:
        Driver: iscsi
        State: ready
    I_T nexus information:
    LUN information:
        LUN: 0
            Type: controller
            Backing store type: null
            Backing store path: None
        LUN: 1
            Type: disk
            Backing store type: rdwr
            Backing store path: /tmp/disk.raw
    Account information:
        node_user
        node_mutual (outgoing)
    ACL information:
        iqn.2026-11.lab.dt:cn001
`

func TestParseShow(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string]map[int]string
		wantErr bool
	}{
		{showSample, map[string]map[int]string{"iqn.2026-11.lab.dt:testos": {0: "None", 1: "/tmp/disk.raw"}}, false},
		{"", map[string]map[int]string{}, false},
		{"        LUN: 1\n", nil, true},
		{"Target 1: t\n        LUN: x\n", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseShow(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseShow(%q) = %v, %v, want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseShow(f *testing.F) {
	f.Add(showSample)
	f.Add("Target 1:\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseShow(s)
	})
}
