package noderange

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, that what it returns is a set
// of valid names, and that Compact of that set parses back to it.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"cn[001-064],gpu[1-4],login1", "rack[1-2]n[01-16]", "cn[001-003,010,020-022]",
		"cn[10-1]", "cn[1-2", "a,,b", "Cn1", "cn[001-10]", "[0-9][0-9]", "cn[8-12],cn[08-12]",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		names, err := Parse(expr)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "noderange: ") {
				t.Fatalf("Parse(%q) error %q lacks the noderange: prefix", expr, err)
			}
			return
		}
		if len(names) == 0 || len(names) > MaxNames {
			t.Fatalf("Parse(%q) = %d names", expr, len(names))
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || seen[n] {
				t.Fatalf("Parse(%q): empty or duplicate name %q", expr, n)
			}
			seen[n] = true
			for i := 0; i < len(n); i++ {
				if !nameByte(n[i]) {
					t.Fatalf("Parse(%q): invalid name %q", expr, n)
				}
			}
		}
		if len(names) <= 20000 {
			checkRoundTrip(t, names)
		}
	})
}

// FuzzCompact feeds arbitrary name sets (space separated) to Compact.
func FuzzCompact(f *testing.F) {
	f.Add("cn001 cn002 cn100 cn1 cn10 login1")
	f.Add("a0 a00 a000 a1 a01 a10 a100")
	f.Add("1 01 001 9 10")
	f.Fuzz(func(t *testing.T, in string) {
		var names []string
		for _, n := range strings.Fields(in) {
			ok := true
			for i := 0; i < len(n); i++ {
				ok = ok && nameByte(n[i])
			}
			if ok {
				names = append(names, n)
			}
		}
		checkRoundTrip(t, names)
	})
}
