// Package golden compares a test's output with a golden file (by
// convention testdata/NAME in the package under test) and rewrites the
// file instead when the test runs with -update:
//
//	go test ./trap/iscsi -run TestPlanGolden -update
//
// Only tests import it: it registers the -update flag.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/ with the output the tests got")

// Update reports whether the tests run with -update.
func Update() bool { return *update }

// Check compares got with the file at path. With -update it writes got
// there (creating the folder) and passes.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
