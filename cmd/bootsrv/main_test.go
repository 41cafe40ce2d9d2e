package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestHelpAndCheck(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = success
		stdout  string // substring
		stderr  string // substring
	}{
		{"help flag", []string{"--help"}, "", "-log-format", ""},
		{"help word", []string{"help"}, "", "bootsrv check [--config FILE]", ""},
		{"check help", []string{"check", "-h"}, "", "every\nproblem", ""},
		{"check ok", []string{"check", "--config", "../../bootsrv/invcheck/testdata/ok.yaml"}, "", "ok: 4 nodes", ""},
		{"check positional", []string{"check", "../../docs/examples/cluster.yaml"}, "", "cluster.yaml: ok:", ""},
		{"check broken", []string{"check", "--config", "../../bootsrv/invcheck/testdata/typo-field.yaml"},
			"inventory has problems", "", `typo-field.yaml:7: nodes[0].moed: unknown field "moed"`},
		{"bad log format", []string{"--log-format", "xml", "--config", "../../bootsrv/invcheck/testdata/ok.yaml"},
			`--log-format: want text or json, got "xml"`, "", ""},
		{"stray argument", []string{"serve"}, "unexpected arguments", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errOut)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("run(%q) = %v, want error %q", tt.args, err, tt.wantErr)
			}
			if !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errOut.String(), tt.stderr) {
				t.Errorf("stdout %q\nstderr %q\nwant %q / %q", out.String(), errOut.String(), tt.stdout, tt.stderr)
			}
		})
	}
}
