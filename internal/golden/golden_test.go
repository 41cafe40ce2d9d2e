package golden

import (
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Fatal(...any)          { r.failed = true }

func TestCheck(t *testing.T) {
	if Update() {
		t.Skip("-update rewrites files")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "testdata", "x.golden")
	r := &recorder{TB: t}
	Check(r, p, "hello\n")
	if !r.failed {
		t.Errorf("Check with no golden file passed, want a failure")
	}
	*update = true
	r = &recorder{TB: t}
	Check(r, p, "hello\n")
	*update = false
	if r.failed {
		t.Fatalf("Check -update failed")
	}
	for _, tt := range []struct {
		got  string
		fail bool
	}{{"hello\n", false}, {"hello", true}, {"", true}} {
		r := &recorder{TB: t}
		Check(r, p, tt.got)
		if r.failed != tt.fail {
			t.Errorf("Check(%q) failed = %v, want %v", tt.got, r.failed, tt.fail)
		}
	}
}
