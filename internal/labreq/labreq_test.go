package labreq

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestRules runs each case in a child `go test` process (the rules skip or
// fail the calling test) and checks its verdict.
func TestRules(t *testing.T) {
	if c := os.Getenv("DT_LABREQ_CASE"); c != "" {
		child(t, c)
		return
	}
	for _, tc := range []struct {
		name, c  string
		short    bool
		required bool
		want     string // PASS, SKIP or FAIL
	}{
		{"missing tool skips", "missing", false, false, "SKIP"},
		{"missing tool fails when required", "missing", false, true, "FAIL"},
		{"present passes", "present", false, false, "PASS"},
		{"lab test skips in -short", "present", true, false, "SKIP"},
		{"lab test runs in -short when required", "present", true, true, "PASS"},
		{"check runs in -short", "check", true, false, "PASS"},
		{"error prerequisite skips", "err", false, false, "SKIP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"-test.run=^TestRules$", "-test.v"}
			if tc.short {
				args = append(args, "-test.short")
			}
			cmd := exec.Command(os.Args[0], args...)
			cmd.Env = append(os.Environ(), "DT_LABREQ_CASE="+tc.c, EnvRequired+"=")
			if tc.required {
				cmd.Env = append(cmd.Env, EnvRequired+"=1")
			}
			out, _ := cmd.CombinedOutput()
			got := "PASS"
			switch {
			case strings.Contains(string(out), "--- SKIP"):
				got = "SKIP"
			case strings.Contains(string(out), "--- FAIL"):
				got = "FAIL"
			}
			if got != tc.want {
				t.Errorf("case %s: %s, want %s\n%s", tc.c, got, tc.want, out)
			}
		})
	}
}

func child(t *testing.T, c string) {
	switch c {
	case "missing":
		Require(t, Tools("dt-no-such-tool"))
	case "present":
		Require(t, Tools("sh"), Cond(true, "never"))
	case "check":
		Check(t, Tools("sh"))
	case "err":
		Check(t, Err(errors.New("no guest kernel")))
	}
}
