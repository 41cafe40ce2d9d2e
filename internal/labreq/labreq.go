// Package labreq is the one rule for tests that need more than Go: root,
// host tools, QEMU, the guest kernel, network namespaces.
//
//   - Require(t, what...) is for lab tests (QEMU, servers in namespaces,
//     anything slow): under `go test -short` they skip, and when something
//     they need is missing they skip naming it.
//   - Check(t, what...) is for quick tests that only need a host tool or
//     root: they run under -short too, and skip naming what is missing.
//
// With DT_LAB_REQUIRED=1 (make test) nothing skips: -short is ignored and a
// missing prerequisite fails the test, naming it, so a lab test cannot pass
// by not running.
package labreq

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// EnvRequired is the variable that turns skips into failures.
const EnvRequired = "DT_LAB_REQUIRED"

// Required reports whether DT_LAB_REQUIRED=1.
func Required() bool { return os.Getenv(EnvRequired) == "1" }

// Prereq is one thing a test needs: Missing says what is missing ("" when
// nothing is).
type Prereq func() (missing string)

// Root needs the test to run as root.
func Root() Prereq {
	return func() string {
		if os.Geteuid() != 0 {
			return "root"
		}
		return ""
	}
}

// Tools needs every named program on PATH (or at the given path).
func Tools(names ...string) Prereq {
	return func() string {
		var miss []string
		for _, n := range names {
			if _, err := exec.LookPath(n); err != nil {
				miss = append(miss, n)
			}
		}
		return strings.Join(miss, ", ")
	}
}

// Files needs every path to exist.
func Files(paths ...string) Prereq {
	return func() string {
		var miss []string
		for _, p := range paths {
			if _, err := os.Stat(p); err != nil {
				miss = append(miss, p)
			}
		}
		return strings.Join(miss, ", ")
	}
}

// Cond needs ok; why names what is missing otherwise.
func Cond(ok bool, why string) Prereq {
	return func() string {
		if ok {
			return ""
		}
		return why
	}
}

// Err needs err to be nil; a non-nil err is what is missing.
func Err(err error) Prereq {
	return func() string {
		if err != nil {
			return err.Error()
		}
		return ""
	}
}

// Require is for lab tests: it skips under -short, then checks what (see
// Check). With DT_LAB_REQUIRED=1 it never skips.
func Require(t testing.TB, what ...Prereq) {
	t.Helper()
	if testing.Short() && !Required() {
		t.Skip("lab test: not with -short (set " + EnvRequired + "=1 to run it)")
	}
	Check(t, what...)
}

// Check skips t naming what is missing (make lab-deps; run as root), or
// fails it with DT_LAB_REQUIRED=1.
func Check(t testing.TB, what ...Prereq) {
	t.Helper()
	var missing []string
	for _, p := range what {
		if m := p(); m != "" {
			missing = append(missing, m)
		}
	}
	if len(missing) == 0 {
		return
	}
	Skip(t, "prerequisites missing: %s (make lab-deps; run as root)", strings.Join(missing, "; "))
}

// Skip skips t with the reason, or fails it with DT_LAB_REQUIRED=1.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(EnvRequired+"=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}
