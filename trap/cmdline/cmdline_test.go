package cmdline

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		keys []string
		vals map[string]string
		init []string
	}{
		{"", nil, map[string]string{}, nil},
		{"quiet", []string{"quiet"}, map[string]string{"quiet": ""}, nil},
		{"console=ttyS0,115200 root=/dev/ram0\n", []string{"console", "root"},
			map[string]string{"console": "ttyS0,115200", "root": "/dev/ram0"}, nil},
		{`dt.server=http://198.18.0.1:8080 dt.node="cn 01"  BOOTIF=01-aa-bb-cc-dd-ee-ff`,
			[]string{"dt.server", "dt.node", "BOOTIF"},
			map[string]string{"dt.server": "http://198.18.0.1:8080", "dt.node": "cn 01", "BOOTIF": "01-aa-bb-cc-dd-ee-ff"}, nil},
		{`"a b=c d" e`, []string{"a b", "e"}, map[string]string{"a b": "c d", "e": ""}, nil},
		{"x=1 x=2", []string{"x"}, map[string]string{"x": "2"}, nil},
		{"a=b=c", []string{"a"}, map[string]string{"a": "b=c"}, nil},
		{`k="unterminated value`, []string{"k"}, map[string]string{"k": "unterminated value"}, nil},
		{"a -- init1 b=c", []string{"a"}, map[string]string{"a": ""}, []string{"init1", "b=c"}},
		{"=novalue\tk=\"\"", []string{"k"}, map[string]string{"k": ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c := Parse(tt.in)
			if !reflect.DeepEqual(c.Keys, tt.keys) {
				t.Errorf("Parse(%q).Keys = %q, want %q", tt.in, c.Keys, tt.keys)
			}
			if !reflect.DeepEqual(c.Values, tt.vals) {
				t.Errorf("Parse(%q).Values = %q, want %q", tt.in, c.Values, tt.vals)
			}
			if !reflect.DeepEqual(c.InitArgs, tt.init) {
				t.Errorf("Parse(%q).InitArgs = %q, want %q", tt.in, c.InitArgs, tt.init)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	c := Parse(`BOOTIF=01-52-54-00-12-34-56 dt.server=http://198.18.0.1:8080/ dt.node=cn001 dt.mode=trap dt.debug`)
	if got, want := c.Server(), "http://198.18.0.1:8080"; got != want {
		t.Errorf("Server() = %q, want %q", got, want)
	}
	if got, want := c.Node(), "cn001"; got != want {
		t.Errorf("Node() = %q, want %q", got, want)
	}
	if got, want := c.Mode(), "trap"; got != want {
		t.Errorf("Mode() = %q, want %q", got, want)
	}
	if !c.Debug() {
		t.Errorf("Debug() = false, want true")
	}
	mac, err := c.BootIF()
	if err != nil || mac.String() != "52:54:00:12:34:56" {
		t.Errorf("BootIF() = %v, %v, want 52:54:00:12:34:56", mac, err)
	}
	var empty *Cmdline
	if empty.Node() != "" || empty.Has("x") {
		t.Errorf("nil Cmdline accessors not empty")
	}
	if mac, err := Parse("quiet").BootIF(); mac != nil || err != nil {
		t.Errorf("BootIF() without BOOTIF = %v, %v, want nil, nil", mac, err)
	}
	if Parse("dt.debug=0").Debug() {
		t.Errorf("Debug() with dt.debug=0 = true, want false")
	}
}

func TestParseBootIF(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"01-aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff", false},
		{"01-AA-BB-CC-DD-EE-0F", "aa:bb:cc:dd:ee:0f", false},
		{"aa:bb:cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff", false},
		{"aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff", false},
		{"06-aa-bb-cc-dd-ee-ff", "", true},
		{"01-aa-bb-cc-dd-ee", "01:aa:bb:cc:dd:ee", false}, // six octets: a bare MAC
		{"01-aa-bb-cc-dd", "", true},
		{"01-aa-bb-cc-dd-ee-fff", "", true},
		{"01-zz-bb-cc-dd-ee-ff", "", true},
		{"", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseBootIF(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseBootIF(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("ParseBootIF(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cmdline")
	if err := os.WriteFile(p, []byte("dt.node=cn7\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Read(p)
	if err != nil || c.Node() != "cn7" {
		t.Errorf("Read(%q) = %v, %v, want node cn7", p, c, err)
	}
	if _, err := Read(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Errorf("Read(missing) error = nil, want error")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "a=b", `k="x y" z`, "-- a", `"`, "BOOTIF=01-aa-bb-cc-dd-ee-ff", "a==b\t\"c\"=d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Parse(s)
		if len(c.Keys) != len(c.Values) {
			t.Fatalf("Parse(%q): %d keys, %d values", s, len(c.Keys), len(c.Values))
		}
		for _, k := range c.Keys {
			if k == "" || strings.ContainsAny(k, "\"") {
				t.Fatalf("Parse(%q): bad key %q", s, k)
			}
			if strings.Contains(c.Values[k], `"`) {
				t.Fatalf("Parse(%q): value of %q keeps a quote: %q", s, k, c.Values[k])
			}
		}
		if mac, err := ParseBootIF(s); err == nil && len(mac) != 6 {
			t.Fatalf("ParseBootIF(%q) = %v, want 6 bytes", s, mac)
		}
	})
}
