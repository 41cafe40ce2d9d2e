package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSSHFanOut runs the fan-out against a fake ssh that answers per
// address, and checks the grouped output and exit statuses.
func TestSSHFanOut(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "ssh")
	// The fake prints its last two arguments' shape: address then command.
	script := `#!/bin/sh
for a; do addr=$prev; prev=$a; done
case "$addr" in
  10.0.0.3) echo "boom"; exit 3 ;;
  *) echo "6.1.0 ($prev)" ;;
esac
`
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	old := sshProgram
	sshProgram = fake
	defer func() { sshProgram = old }()
	sshOpts.timeout = 10 * time.Second
	sshOpts.user = "root"

	var results []sshResult
	for _, tg := range []sshTarget{{"cn001", "10.0.0.1"}, {"cn002", "10.0.0.2"}, {"cn003", "10.0.0.3"}} {
		results = append(results, runOne(context.Background(), tg, "/dev/null", "uname -r"))
	}
	if results[2].Exit != 3 || results[0].Exit != 0 || results[0].Output != "6.1.0 (uname -r)\n" {
		t.Fatalf("runOne results = %+v", results)
	}
	var out bytes.Buffer
	printGrouped(&env{stdout: &out}, results)
	want := `---------------
cn[001-002] (2)
---------------
6.1.0 (uname -r)
----------------
cn003 (1) exit 3
----------------
boom
`
	if out.String() != want {
		t.Errorf("printGrouped =\n%s\nwant\n%s", out.String(), want)
	}
}
