package images

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzName: an accepted name is a safe single path element.
func FuzzName(f *testing.F) {
	for _, s := range []string{"os", "a.b-c_d", "..", "../x", "a/b", ".x", "", "A"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckName(s) != nil {
			return
		}
		if strings.ContainsAny(s, "/\\\x00") || strings.HasPrefix(s, ".") || filepath.Base(s) != s {
			t.Errorf("CheckName(%q) accepted an unsafe name", s)
		}
	})
}

// FuzzRecord: Get never panics on a record file's content and accepts
// only consistent records.
func FuzzRecord(f *testing.F) {
	f.Add(`{"name":"os","format":"squashfs","size":3,"sha256":"` + strings.Repeat("a", 64) + `"}`)
	f.Add(`{"name":"os"}`)
	f.Add(`[]`)
	f.Add(`{"name":"os","format":"tar","size":-1,"sha256":"` + strings.Repeat("a", 64) + `"}`)
	dir := f.TempDir()
	r, err := Open(dir)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, content string) {
		if err := os.WriteFile(filepath.Join(dir, "os.json"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		rec, err := r.Get("os")
		if err != nil {
			return
		}
		if rec.Name != "os" || CheckFormat(rec.Format) != nil || CheckSHA256(rec.SHA256) != nil || rec.Size < 0 {
			t.Errorf("Get accepted an inconsistent record %+v from %q", rec, content)
		}
	})
}

// FuzzMagic: checkMagic never panics.
func FuzzMagic(f *testing.F) {
	f.Add("tar", []byte("x"))
	f.Add("squashfs", []byte("hsqs"))
	f.Fuzz(func(t *testing.T, format string, head []byte) {
		checkMagic(format, head)
	})
}
