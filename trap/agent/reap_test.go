package agent

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in    string
		pid   int
		state string
		ppid  int
		ok    bool
	}{
		{"42 (sh) Z 1 42 42 0", 42, "Z", 1, true},
		{"7 (a (b) c) S 3 7", 7, "S", 3, true},
		{"x (sh) Z 1", 0, "", 0, false},
		{"9 (sh)", 0, "", 0, false},
		{"", 0, "", 0, false},
	}
	for _, tt := range tests {
		pid, state, ppid, ok := parseStat(tt.in)
		if pid != tt.pid || state != tt.state || ppid != tt.ppid || ok != tt.ok {
			t.Errorf("parseStat(%q) = %d %q %d %v, want %d %q %d %v", tt.in, pid, state, ppid, ok, tt.pid, tt.state, tt.ppid, tt.ok)
		}
	}
}

func FuzzParseStat(f *testing.F) {
	for _, s := range []string{"42 (sh) Z 1 42", "1 ((x)) S 0", ")(", "1 (", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { parseStat(s) })
}

func TestZombieChildren(t *testing.T) {
	root := t.TempDir()
	for pid, stat := range map[string]string{
		"10": "10 (daemon) Z 1 10 10", "11": "11 (sh) S 1 11 11", "12": "12 (x) Z 5 12 12", "13": "13 (busy box) Z 1 1 1",
	} {
		os.MkdirAll(filepath.Join(root, pid), 0o755)
		os.WriteFile(filepath.Join(root, pid, "stat"), []byte(stat), 0o644)
	}
	got := zombieChildren(root, 1)
	sort.Ints(got)
	if want := []int{10, 13}; !reflect.DeepEqual(got, want) {
		t.Errorf("zombieChildren() = %v, want %v", got, want)
	}
}
