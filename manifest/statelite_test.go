package manifest

import (
	"strings"
	"testing"
)

func TestParseExport(t *testing.T) {
	for _, tc := range []struct{ in, addr, path, err string }{
		{"198.18.0.1:/lite", "198.18.0.1", "/lite", ""},
		{"[fd00::1]:/a/b", "fd00::1", "/a/b", ""},
		{"198.18.0.1:/", "198.18.0.1", "/", ""},
		{"nfs:/lite", "", "", `server "nfs": want an IP address`},
		{"198.18.0.1:lite", "", "", "want ADDR:/PATH"},
		{"198.18.0.1:/a/../b", "", "", "want a clean path"},
		{"198.18.0.1:/a,b", "", "", "without spaces or commas"},
	} {
		a, p, err := ParseExport(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseExport(%q) = %v, want error %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || a.String() != tc.addr || p != tc.path {
			t.Errorf("ParseExport(%q) = %s %s %v", tc.in, a, p, err)
		}
	}
}

func TestParseLiteOption(t *testing.T) {
	for in, want := range map[string]string{"": "tmpfs", "tmpfs": "tmpfs", "con": "con", "persistent": "persistent",
		"persistent,con": "persistent,con", "con, persistent": "persistent,con", "ro": "ro"} {
		if got, err := ParseLiteOption(in); err != nil || got != want {
			t.Errorf("ParseLiteOption(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"rw", "ro,persistent", "ALL,"} {
		if _, err := ParseLiteOption(bad); err == nil {
			t.Errorf("ParseLiteOption(%q) accepted", bad)
		}
	}
}

// FuzzParseExport: an accepted export prints back to itself.
func FuzzParseExport(f *testing.F) {
	for _, s := range []string{"198.18.0.1:/lite", "[fd00::1]:/a", "a:/b", "1.2.3.4:/a/./b", ":/", "[::1]:/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, p, err := ParseExport(s)
		if err != nil {
			return
		}
		back := a.String() + ":" + p
		if a.Is6() {
			back = "[" + a.String() + "]:" + p
		}
		a2, p2, err := ParseExport(back)
		if err != nil || a2 != a || p2 != p {
			t.Fatalf("ParseExport(%q) = %s %s, but %q gives %s %s %v", s, a, p, back, a2, p2, err)
		}
	})
}
