package hostsys

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCountTreeAndReadDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755)
	os.WriteFile(filepath.Join(dir, "a", "f"), nil, 0o644)
	os.Symlink("/nonexistent", filepath.Join(dir, "link"))
	n, err := Sys{}.CountTree(dir)
	if err != nil || n != 5 { // dir, a, a/b, a/f, link
		t.Errorf("CountTree = %d, %v; want 5", n, err)
	}
	if _, err := (Sys{}).CountTree(filepath.Join(dir, "missing")); err == nil {
		t.Errorf("CountTree of a missing folder: no error")
	}
	names, err := Sys{}.ReadDir(dir)
	if err != nil || len(names) != 2 || names[0] != "a" || names[1] != "link" {
		t.Errorf("ReadDir = %q, %v", names, err)
	}
}
