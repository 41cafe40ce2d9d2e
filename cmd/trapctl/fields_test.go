package main

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseFields(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // JSON of the fields, or "error"
	}{
		{[]string{"mode=trap"}, `{"mode":"trap"}`},
		{[]string{"cmdline=console=ttyS0,115200 quiet"}, `{"cmdline":"console=ttyS0,115200 quiet"}`},
		{[]string{"groups=compute, base,"}, `{"groups":["compute","base"]}`},
		{[]string{"ssh_keys=ssh-ed25519 AAAA a@b"}, `{"ssh_keys":["ssh-ed25519 AAAA a@b"]}`},
		{[]string{"ssh_keys=[ssh-ed25519 AAAA a@b, ssh-rsa BBBB c@d]"}, `{"ssh_keys":["ssh-ed25519 AAAA a@b","ssh-rsa BBBB c@d"]}`},
		{[]string{"image=12"}, `{"image":"12"}`},
		{[]string{"mode="}, `{"mode":null}`},
		{[]string{"mac=52:54:00:00:00:05", "ip=198.18.0.15", "network=lab"}, `{"interfaces":[{"ip":"198.18.0.15","mac":"52:54:00:00:00:05","name":"net0","network":"lab"}]}`},
		{[]string{"interfaces=[{name: eth1, mac: \"52:54:00:00:00:07\"}]"}, `{"interfaces":[{"mac":"52:54:00:00:00:07","name":"eth1"}]}`},
		{[]string{"novalue"}, "error"},
		{[]string{"=x"}, "error"},
		{[]string{"mode=a", "mode=b"}, "error"},
		{[]string{"mac=1", "mac=2"}, "error"},
		{[]string{"mac=1", "interfaces=[]"}, "error"},
		{[]string{"groups=[a"}, "error"},
	} {
		got, err := parseFields(tc.args)
		if tc.want == "error" {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("parseFields(%q) = %v, %v; want a usage error", tc.args, got, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseFields(%q): %v", tc.args, err)
			continue
		}
		b, _ := json.Marshal(got)
		if string(b) != tc.want {
			t.Errorf("parseFields(%q) = %s, want %s", tc.args, b, tc.want)
		}
	}
}

func FuzzParseFields(f *testing.F) {
	for _, s := range []string{"mode=trap", "groups=a,b", "k=[1, {a: b}]", "k={x: [1]}", "=", "mac=1", "a=b=c", "k=[", "k={? a}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		fields, err := parseFields([]string{arg})
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Fatalf("parseFields(%q) error %v is not a usage error", arg, err)
			}
			return
		}
		if _, err := json.Marshal(fields); err != nil {
			t.Fatalf("parseFields(%q) = %v, not JSON encodable: %v", arg, fields, err)
		}
	})
}
