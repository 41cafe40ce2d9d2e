package noderange

import (
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestCount(t *testing.T) {
	for _, tt := range []struct {
		expr string
		want int
	}{
		{"cn[001-064],gpu[1-4],login1", 69},
		{"rack[1-2]n[01-16]", 32},
		{"cn1,cn1", 2},
		{"x[1-1000000]", 1_000_000},
		{"x[1-1000001]", MaxNames + 1},
		{"x[1-999999999]y[1-999999999]", MaxNames + 1},
	} {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := Count(tt.expr)
			if err != nil || got != tt.want {
				t.Errorf("Count(%q) = %d, %v; want %d", tt.expr, got, err, tt.want)
			}
		})
	}
	if _, err := Count("cn[1-"); err == nil {
		t.Error("Count of a broken range: no error")
	}
}

// TestParseMaxMillion: a million-name range against a 10-node limit is
// refused quickly and without building names (Parse takes ~150 MB and most
// of a second for it).
func TestParseMaxMillion(t *testing.T) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, err := ParseMax("x[1-1000000]", 10)
	took := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	if err == nil || !strings.Contains(err.Error(), "1000000 names, more than the 10 allowed") {
		t.Fatalf("ParseMax(x[1-1000000], 10) error = %v", err)
	}
	t.Logf("refused in %v, %d bytes allocated", took, alloc)
	if alloc > 64<<10 || took > 50*time.Millisecond {
		t.Errorf("refusal took %v and %d bytes, want well under 50ms and 64 KiB", took, alloc)
	}
	names, err := ParseMax("cn[1-3]", 3)
	if err != nil || len(names) != 3 {
		t.Errorf("ParseMax(cn[1-3], 3) = %v, %v", names, err)
	}
}

// FuzzCount: Count agrees with Parse (an upper bound, exact without
// duplicates) and fails exactly when Parse fails for syntax.
func FuzzCount(f *testing.F) {
	for _, s := range []string{"cn[001-064],gpu[1-4],login1", "rack[1-2]n[01-16]", "cn1,cn1", "x[1-99999999]", "a[", "[0-9][0-9]"} {
		f.Add(s, 100)
	}
	f.Fuzz(func(t *testing.T, expr string, max int) {
		n, err := Count(expr)
		names, perr := Parse(expr)
		if err != nil {
			if perr == nil {
				t.Fatalf("Count(%q) failed (%v) where Parse did not", expr, err)
			}
			return
		}
		if n < 0 || n > MaxNames+1 {
			t.Fatalf("Count(%q) = %d", expr, n)
		}
		if perr == nil && len(names) > n {
			t.Fatalf("Count(%q) = %d < %d names", expr, n, len(names))
		}
		got, merr := ParseMax(expr, max)
		if n > max && merr == nil {
			t.Fatalf("ParseMax(%q, %d) accepted %d names", expr, max, n)
		}
		if n <= max && (merr == nil) != (perr == nil) || merr == nil && len(got) != len(names) {
			t.Fatalf("ParseMax(%q, %d) = %d, %v; Parse = %d, %v", expr, max, len(got), merr, len(names), perr)
		}
	})
}
