package noderange

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		expr string
		want string // names joined by spaces
	}{
		{"login1", "login1"},
		{"cn[001-004]", "cn001 cn002 cn003 cn004"},
		{"cn[1-3]", "cn1 cn2 cn3"},
		{"cn[8-11]", "cn8 cn9 cn10 cn11"},
		{"cn[08-11]", "cn08 cn09 cn10 cn11"},
		{"cn[001-003,010,020-022]", "cn001 cn002 cn003 cn010 cn020 cn021 cn022"},
		{"rack[1-2]n[01-03]", "rack1n01 rack1n02 rack1n03 rack2n01 rack2n02 rack2n03"},
		{"cn[1-2],login1,cn1", "cn1 cn2 login1"},
		{" cn1 , cn2 ", "cn1 cn2"},
		{"[1-2]", "1 2"},
		{"a[1-2]b", "a1b a2b"},
		{"n[0-2]", "n0 n1 n2"},
		{"cn[007]", "cn007"},
		{"x.y_z-1", "x.y_z-1"},
		{"cn[ 1 - 2 ]", ""}, // error: spaces inside a number are not digits
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := Parse(tt.expr)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Parse(%q) = %v, want error", tt.expr, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.expr, err)
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("Parse(%q) = %v, want %v", tt.expr, g, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // substring of the error
	}{
		{"", "empty item"},
		{"cn1,,cn2", "empty item"},
		{"cn1,", "empty item"},
		{"cn[1-2", `item "cn[1-2": unbalanced '['`},
		{"cn1-2]", `item "cn1-2]": unbalanced ']'`},
		{"cn[[1-2]]", "nested '['"},
		{"cn[10-1]", `item "cn[10-1]": reversed range 10-1`},
		{"cn[001-10]", "mixes padded widths 3 and 2"},
		{"cn[01-100]", "mixes padded widths 2 and 3"},
		{"cn[1-010]", "mixes padded widths"},
		{"Cn1", `uppercase 'C'`},
		{"cn 1", `bad character ' '`},
		{"cn@1", `item "cn@1": bad character '@'`},
		{"cn[]", "empty brackets"},
		{"cn[1,]", "empty element"},
		{"cn[a-b]", "bad range"},
		{"cn[1-]", "bad range"},
		{"cn[-1]", "bad range"},
		{"cn[1-2-3]", "bad range"},
		{"cn[1234567890]", "more than 9 digits"},
		{"cn[0-999999999]", "more than 1000000 names"},
		{"a[0-999]b[0-999]c[0-9]", "more than 1000000 names"},
		{"a[000000-999999],b[1-2]", `item "b[1-2]": expression expands to more than`},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) = %d names, want error containing %q", tt.expr, len(got), tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestParseMax(t *testing.T) {
	got, err := Parse("a[000000-999999]")
	if err != nil {
		t.Fatalf("Parse of exactly MaxNames: %v", err)
	}
	if len(got) != MaxNames || got[0] != "a000000" || got[len(got)-1] != "a999999" {
		t.Errorf("Parse(a[000000-999999]) = %d names %s..%s, want %d", len(got), got[0], got[len(got)-1], MaxNames)
	}
}

func TestCompact(t *testing.T) {
	tests := []struct {
		names string
		want  string
	}{
		{"cn001 cn002 cn003 cn004 login1", "cn[001-004],login1"},
		{"login1 cn004 cn003 cn002 cn001 cn002", "cn[001-004],login1"},
		{"cn1 cn2 cn3 cn10", "cn[1-3,10]"},
		{"cn8 cn9 cn10 cn11", "cn[8-11]"},
		{"cn001 cn002 cn010 cn100", "cn[001-002,010,100]"},
		{"cn1 cn01", "cn1,cn01"},
		{"cn7", "cn7"},
		{"head", "head"},
		{"rack1n01 rack1n02 rack2n01", "rack1n[01-02],rack2n01"},
		{"gpu1 cn2 cn10 cn3", "cn[2-3,10],gpu1"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.names, func(t *testing.T) {
			names := strings.Fields(tt.names)
			if got := Compact(names); got != tt.want {
				t.Errorf("Compact(%q) = %q, want %q", names, got, tt.want)
			}
		})
	}
}

func TestIndex(t *testing.T) {
	tests := []struct {
		name string
		want int
		ok   bool
	}{
		{"cn007", 7, true},
		{"cn10", 10, true},
		{"rack2n16", 16, true},
		{"login", 0, false},
		{"123", 123, true},
		{"cn99999999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := Index(tt.name)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Index(%q) = %d, %v, want %d, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLess(t *testing.T) {
	names := []string{"cn10", "cn2", "login1", "cn1", "cn07", "cn7", "rack10n1", "rack2n1", "a", "cn"}
	slices.SortFunc(names, naturalCompare)
	want := "a cn cn1 cn2 cn7 cn07 cn10 login1 rack2n1 rack10n1"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("natural sort = %q, want %q", got, want)
	}
}

// checkRoundTrip verifies Parse(Compact(names)) is the sorted set of names.
func checkRoundTrip(t *testing.T, names []string) {
	t.Helper()
	c := Compact(names)
	if len(names) == 0 {
		if c != "" {
			t.Fatalf("Compact(nil) = %q, want empty", c)
		}
		return
	}
	back, err := Parse(c)
	if err != nil {
		t.Fatalf("Parse(Compact(%q)) = Parse(%q): %v", names, c, err)
	}
	want := slices.Clone(names)
	slices.Sort(want)
	want = slices.Compact(want)
	slices.Sort(back)
	if !slices.Equal(back, want) {
		t.Fatalf("Parse(Compact(%q)) = Parse(%q) = %q, want %q", names, c, back, want)
	}
}

func TestRoundTrip(t *testing.T) {
	for _, expr := range []string{
		"cn[001-064],gpu[1-4],login1",
		"rack[1-2]n[01-16]",
		"cn[1-100],cn[001-010],cn[0001-0003]",
		"n[0-12],n00,n[000-003]",
		"cn[5-15,99-101],cn[098-102]",
		"1,2,3,10,x",
	} {
		names, err := Parse(expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", expr, err)
		}
		checkRoundTrip(t, names)
	}
}

func BenchmarkParse10000(b *testing.B) {
	for b.Loop() {
		names, err := Parse("cn[00001-10000]")
		if err != nil || len(names) != 10000 {
			b.Fatalf("Parse = %d names, %v", len(names), err)
		}
	}
}

func BenchmarkCompact10000(b *testing.B) {
	names, _ := Parse("cn[00001-10000]")
	for b.Loop() {
		if got := Compact(names); got != "cn[00001-10000]" {
			b.Fatalf("Compact = %q", got)
		}
	}
}

func ExampleParse() {
	names, err := Parse("rack[1-2]n[01-02],login1")
	fmt.Println(names, err)
	// Output: [rack1n01 rack1n02 rack2n01 rack2n02 login1] <nil>
}

func ExampleCompact() {
	fmt.Println(Compact([]string{"cn003", "cn001", "cn002", "login1", "cn010"}))
	// Output: cn[001-003,010],login1
}
