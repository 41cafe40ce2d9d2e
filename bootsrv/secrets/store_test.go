package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStore(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(AllNodes, "luks", []byte("all-pass")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("cn001", "luks", []byte("cn001-pass")); err != nil {
		t.Fatal(err)
	}
	if err := s.Put("cn001", "luks", []byte("cn001-pass2")); err != nil { // replace
		t.Fatal(err)
	}
	for _, tt := range []struct{ node, want string }{{"cn001", "cn001-pass2"}, {"cn002", "all-pass"}} {
		if v, err := s.Lookup(tt.node, "luks"); err != nil || string(v) != tt.want {
			t.Errorf("Lookup(%s, luks) = %q, %v, want %q", tt.node, v, err, tt.want)
		}
	}
	if _, err := s.Lookup("cn001", "chap"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(cn001, chap) = %v, want ErrNotFound", err)
	}
	for p, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, "cn001"): 0o700, filepath.Join(dir, "cn001", "luks"): 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != want {
			t.Errorf("mode of %s = %v (%v), want %v", p, fi.Mode().Perm(), err, want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "cn001")); len(ents) != 1 {
		t.Errorf("cn001 folder has %d entries, want 1 (no temp files left)", len(ents))
	}
	if err := s.Delete("cn001", "luks"); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Lookup("cn001", "luks"); string(v) != "all-pass" {
		t.Errorf("Lookup after Delete = %q, want the all-nodes value", v)
	}
}

func TestStoreRefuses(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		scope, name string
		value       string
		want        string
	}{
		{"cn001", "../x", "v", "secret name"},
		{"..", "luks", "v", "scope name"},
		{"cn001", "a/b", "v", "secret name"},
		{"cn001", "hunter2 pass", "v", "secret name"},
		{"cn001", "luks", "", "want 1 to"},
		{"cn001", "luks", strings.Repeat("x", MaxSize+1), "want 1 to"},
	} {
		t.Run(tt.scope+"/"+tt.name, func(t *testing.T) {
			err := s.Put(tt.scope, tt.name, []byte(tt.value))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Put(%q, %q) = %v, want an error containing %q", tt.scope, tt.name, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Put error repeats the name: %v", err)
			}
		})
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"luks", "iscsi-chap", "..", "a/b", "", "_all", "-x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckName("secret", s) == nil && (strings.ContainsAny(s, "/\\\x00") || s == "." || s == "..") {
			t.Errorf("CheckName(%q) accepted a path-unsafe name", s)
		}
	})
}
