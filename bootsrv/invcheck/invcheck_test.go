package invcheck

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

// TestCheck runs Check on each inventory under testdata/ and compares what
// it prints with testdata/NAME.golden: the good one passes with a summary,
// each broken one fails and names every problem as file:line: field.
func TestCheck(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) < 5 {
		t.Fatalf("testdata inventories: %v %v", files, err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := Check(f, &out, &errOut)
			if ok := name == "ok"; ok != (err == nil) {
				t.Fatalf("Check(%s) = %v, want ok=%v", f, err, ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("error %v does not wrap ErrInvalid", err)
				}
				for _, line := range strings.Split(strings.TrimSpace(errOut.String()), "\n") {
					if !strings.HasPrefix(line, f+":") {
						t.Errorf("problem line %q does not start with %s:LINE", line, f)
					}
				}
			}
			golden.Check(t, "testdata/"+name+".golden", "stdout:\n"+out.String()+"stderr:\n"+errOut.String())
		})
	}
}

func TestMissingFile(t *testing.T) {
	var out, errOut bytes.Buffer
	err := Check("testdata/none.yaml", &out, &errOut)
	if err == nil || !strings.Contains(errOut.String(), "none.yaml") {
		t.Errorf("missing file: err %v, stderr %q; want the file named", err, errOut.String())
	}
}
