package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestPushSecret pushes a secret through a fake ssh that records its argv
// and standard input per address, and checks the secret arrived on stdin
// only: never in argv, never in trapctl's output.
func TestPushSecret(t *testing.T) {
	url, dir, _ := server(t)
	ctx := context.Background()
	cl := client.New(url, nil)
	if err := cl.PostEvents(ctx, []manifest.Event{
		{Node: "cn001", Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24"}},
		{Node: "cn001", Phase: manifest.PhaseHostKey, Data: map[string]string{"key": hostKey}},
	}); err != nil {
		t.Fatal(err)
	}
	rec := fakeSSH(t, dir)
	oldIn := stdinReader
	t.Cleanup(func() { stdinReader = oldIn })

	const secret = "correct horse battery staple"
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args    []string
		stdin   string
		command string
	}{
		{[]string{"secret", "push", "cn001", "iscsi-chap", keyFile}, "", "trap secret set iscsi-chap"},
		{[]string{"luks", "push", "cn001", "--file", "-"}, secret + "\n", "trap secret set luks"},
		{[]string{"luks", "push", "cn001", "--file", "-", "--name", "root-key"}, secret + "\n", "trap secret set root-key"},
		{[]string{"luks", "push", "cn001", "disk1", "--file", keyFile}, "", "trap secret set luks-disk1"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			os.RemoveAll(filepath.Join(rec, "198.18.0.11.argv"))
			stdinReader = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			err := run(ctx, append([]string{"--server", url}, tt.args...), &stdout, &stderr)
			if err != nil {
				t.Fatalf("run(%q) = %v (%s)", tt.args, err, stderr.String())
			}
			argv, err := os.ReadFile(filepath.Join(rec, "198.18.0.11.argv"))
			if err != nil {
				t.Fatalf("ssh never ran for cn001: %v", err)
			}
			in, _ := os.ReadFile(filepath.Join(rec, "198.18.0.11.stdin"))
			if string(in) != secret+"\n" {
				t.Errorf("ssh stdin = %q, want the secret", in)
			}
			if !strings.HasSuffix(string(argv), "\n"+tt.command+"\n") || !strings.Contains(string(argv), "StrictHostKeyChecking=yes") {
				t.Errorf("ssh argv = %q, want pinned host keys and command %q", argv, tt.command)
			}
			for what, s := range map[string]string{"argv": string(argv), "stdout": stdout.String(), "stderr": stderr.String()} {
				if strings.Contains(s, "horse") {
					t.Errorf("secret appears in %s: %q", what, s)
				}
			}
			if !strings.Contains(stdout.String(), "cn001 (1)") {
				t.Errorf("stdout = %q, want cn001's result", stdout.String())
			}
		})
	}
}

// TestPushSecretRefuses checks bad names and empty input fail before any
// ssh runs.
func TestPushSecretRefuses(t *testing.T) {
	old, oldIn := sshProgram, stdinReader
	t.Cleanup(func() { sshProgram, stdinReader = old, oldIn })
	sshProgram = "/nonexistent/ssh"
	for _, tt := range []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{"secret", "push", "cn001", "a;rm -rf /"}, "x", "secret name"},
		{[]string{"secret", "push", "cn001", "../x"}, "x", "secret name"},
		{[]string{"luks", "push", "cn001", "--file", "-"}, "", "empty"},
		{[]string{"luks", "push", "cn001"}, "", "IMAGE (key from bootsrv) or --file"},
		{[]string{"luks", "push", "cn001", "a/b"}, "", "image name"},
		{[]string{"luks", "push", "cn001", "--file", "-", "--secret", "x"}, "x", "exclude"},
		{[]string{"secret", "push", "cn001", "k", "/nonexistent/key"}, "", "no such file"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			stdinReader = strings.NewReader(tt.stdin)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), append([]string{"--server", "http://127.0.0.1:1"}, tt.args...), &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
			}
		})
	}
}
