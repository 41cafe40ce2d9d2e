package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelp: every way of asking for help exits 0, prints to stdout and
// never says "flag: help requested"; `help all` covers every command.
func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "commands:"},
		{[]string{"-h"}, "commands:"},
		{[]string{"help"}, "commands:"},
		{[]string{"help", "initrd", "build"}, "-prebuilt"},
		{[]string{"initrd", "build", "--help"}, "-prebuilt"},
		{[]string{"inventory", "check", "-h"}, "FILE:LINE: FIELD"},
		{[]string{"help", "all"}, "usage: trapctl [global flags] inventory check FILE"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errOut)
		if code := exitCode(err); code != 0 {
			t.Errorf("run(%q) = %v (exit %d), want 0", tt.args, err, code)
		}
		if !strings.Contains(out.String(), tt.want) || strings.Contains(out.String()+errOut.String(), "help requested") {
			t.Errorf("run(%q): stdout %q stderr %q, want %q", tt.args, out.String(), errOut.String(), tt.want)
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help", "all"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		if !strings.Contains(out.String(), "trapctl [global flags] "+c.name+" ") {
			t.Errorf("help all misses %q", c.name)
		}
	}
	if err := run(context.Background(), []string{"help", "nosuch"}, &out, &out); exitCode(err) != 2 {
		t.Errorf("help nosuch = %v, want a usage error", err)
	}
}

func TestInventoryCheck(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"inventory", "check", "../../docs/examples/cluster.yaml"}, &out, &errOut); err != nil {
		t.Errorf("example inventory: %v\n%s", err, errOut.String())
	}
	out.Reset()
	errOut.Reset()
	err := run(context.Background(), []string{"inventory", "check", "../../bootsrv/invcheck/testdata/bad-mode-and-mac.yaml"}, &out, &errOut)
	if exitCode(err) != 1 || !strings.Contains(errOut.String(), `bad-mode-and-mac.yaml:6: defaults.mode: unknown mode "fly"`) {
		t.Errorf("broken inventory: %v (exit %d), stderr %q", err, exitCode(err), errOut.String())
	}
}
