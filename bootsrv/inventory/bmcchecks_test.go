package inventory

import (
	"strings"
	"testing"
)

func TestParseBMCAddress(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"10.1.0.1", "10.1.0.1:623"},
		{"10.1.0.1:6230", "10.1.0.1:6230"},
		{"10.1.0.1:0", "error"},
		{"0.0.0.0", "error"},
		{"224.0.0.1", "error"},
		{"[fe80::1]:623", "error"},
		{"bmc1", "error"},
		{"", "error"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			ap, err := ParseBMCAddress(tc.in)
			got := ap.String()
			if err != nil {
				got = "error"
				if !strings.Contains(err.Error(), "want IPv4 ADDR or ADDR:PORT") {
					t.Errorf("error %q does not say what is wanted", err)
				}
			}
			if got != tc.want {
				t.Errorf("ParseBMCAddress(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}

// FuzzParseBMCAddress: no panic; what parses prints back to itself.
func FuzzParseBMCAddress(f *testing.F) {
	for _, s := range []string{"10.1.0.1", "10.1.0.1:623", "[::1]:1", "1.2.3.4:99999", "bmc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ap, err := ParseBMCAddress(s)
		if err != nil {
			return
		}
		again, err := ParseBMCAddress(ap.String())
		if err != nil || again != ap {
			t.Errorf("ParseBMCAddress(%q) = %v; reparsed %v, %v", s, ap, again, err)
		}
	})
}
