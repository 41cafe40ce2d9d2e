package sshd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// needSSH skips when the OpenSSH client is missing (fails under
// DT_LAB_REQUIRED=1).
func needSSH(t *testing.T, tools ...string) {
	t.Helper()
	labreq.Check(t, labreq.Tools(append([]string{"ssh"}, tools...)...)) // openssh-client
}

// clientKey writes a fresh ed25519 private key in OpenSSH format and
// returns its path and authorized_keys line.
func clientKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spub, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spub))) + " " + name
}

type fixture struct {
	srv  *Server
	port string
	key  string // authorized private key path
	line string // its authorized_keys line
	dir  string // session working directory
	tmp  string
}

// start runs a server on 127.0.0.1 with an authorized key; edits adjust
// its Config first.
func start(t *testing.T, edits ...func(*Config)) *fixture {
	t.Helper()
	needSSH(t)
	tmp := t.TempDir()
	key, line := clientKey(t, tmp, "admin")
	_, other := clientKey(t, tmp, "other")
	dir := filepath.Join(tmp, "root")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Addr:           "127.0.0.1:0",
		AuthorizedKeys: []string{"# comment", "garbage line", other + "\n" + line},
		Shell:          "/bin/sh",
		Env:            []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME=" + dir, "PS1=root@cn001_DisklessTrap:/root# "},
		Dir:            dir,
		Log:            quiet,
	}
	for _, e := range edits {
		e(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatalf("Listen() error = %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve() }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close() error = %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve() error = %v", err)
		}
	})
	_, port, _ := strings.Cut(srv.Addr().String(), "127.0.0.1:")
	return &fixture{srv: srv, port: port, key: key, line: line, dir: dir, tmp: tmp}
}

func (f *fixture) sshArgs(key string, extra ...string) []string {
	args := []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-o", "LogLevel=ERROR"}
	if key != "" {
		args = append(args, "-i", key)
	}
	return append(args, extra...)
}

// run runs an OpenSSH tool with a timeout and returns stdout, stderr and
// the exit code.
func run(t *testing.T, stdin string, name string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %q timed out; stdout %q stderr %q", name, args, out.String(), errb.String())
	}
	return out.String(), errb.String(), code
}

func TestExecExitStatus(t *testing.T) {
	f := start(t)
	tests := []struct {
		cmd      string
		wantOut  string
		wantErr  string
		wantCode int
	}{
		{"echo hi; exit 3", "hi\n", "", 3},
		{"pwd; echo $HOME; echo err >&2", f.dir + "\n" + f.dir + "\n", "err\n", 0},
		{"cat", "from stdin\n", "", 0},
		{"kill -TERM $$", "", "", 255}, // exit-signal TERM: OpenSSH exits 255
		{"/nonexistent/cmd", "", "not found", 127},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			out, errOut, code := run(t, "from stdin\n", "ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", tt.cmd)...)
			if out != tt.wantOut || code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("ssh %q = stdout %q stderr %q code %d, want %q %q %d", tt.cmd, out, errOut, code, tt.wantOut, tt.wantErr, tt.wantCode)
			}
		})
	}
}

func TestPTYShell(t *testing.T) {
	f := start(t)
	out, errOut, code := run(t, "echo ok$((40+2)); tty; exit\n", "ssh", f.sshArgs(f.key, "-tt", "-p", f.port, "root@127.0.0.1")...)
	if code != 0 || !strings.Contains(out, "ok42") || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("ssh -tt: stdout %q stderr %q code %d, want ok42, a /dev/pts tty, code 0", out, errOut, code)
	}
	if !strings.Contains(out, "root@cn001_DisklessTrap:/root# ") {
		t.Errorf("ssh -tt: stdout %q lacks the PS1 prompt", out)
	}
	// exec with a pty, exit status passes through.
	out, _, code = run(t, "", "ssh", f.sshArgs(f.key, "-tt", "-p", f.port, "root@127.0.0.1", "stty size; exit 5")...)
	if code != 5 || !strings.Contains(out, " ") {
		t.Errorf("ssh -tt CMD: stdout %q code %d, want a size and code 5", out, code)
	}
}

func TestSFTPAndSCP(t *testing.T) {
	needSSH(t, "sftp", "scp")
	f := start(t)
	src := filepath.Join(f.tmp, "payload")
	payload := bytes.Repeat([]byte("disklesstrap\n"), 10000)
	if err := os.WriteFile(src, payload, 0o644); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(f.tmp, "back")
	batch := fmt.Sprintf("put %s up.bin\nls -l\nget up.bin %s\n", src, back)
	out, errOut, code := run(t, batch, "sftp", f.sshArgs(f.key, "-P", f.port, "-b", "-", "root@127.0.0.1")...)
	if code != 0 {
		t.Fatalf("sftp -b: code %d stdout %q stderr %q", code, out, errOut)
	}
	for _, p := range []string{filepath.Join(f.dir, "up.bin"), back} {
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, payload) {
			t.Errorf("sftp: %s has %d bytes (err %v), want %d", p, len(got), err, len(payload))
		}
	}
	// scp (OpenSSH 9 uses the SFTP protocol).
	out, errOut, code = run(t, "", "scp", f.sshArgs(f.key, "-P", f.port, src, "root@127.0.0.1:scp.bin")...)
	if code != 0 {
		t.Fatalf("scp: code %d stdout %q stderr %q", code, out, errOut)
	}
	if got, err := os.ReadFile(filepath.Join(f.dir, "scp.bin")); err != nil || !bytes.Equal(got, payload) {
		t.Errorf("scp: copied %d bytes (err %v), want %d", len(got), err, len(payload))
	}
}

func TestAuthRefused(t *testing.T) {
	f := start(t)
	stranger, _ := clientKey(t, f.tmp, "stranger")
	tests := []struct {
		name string
		args []string
	}{
		{"unknown-key", f.sshArgs(stranger, "-p", f.port, "root@127.0.0.1", "true")},
		{"password", f.sshArgs("", "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password,keyboard-interactive",
			"-o", "NumberOfPasswordPrompts=1", "-p", f.port, "root@127.0.0.1", "true")},
		{"no-auth", f.sshArgs("", "-o", "PubkeyAuthentication=no", "-p", f.port, "root@127.0.0.1", "true")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := run(t, "secret\n", "ssh", tt.args...)
			if code != 255 || !strings.Contains(errOut, "Permission denied (publickey)") {
				t.Errorf("ssh: stderr %q code %d, want 255 and Permission denied (publickey)", errOut, code)
			}
		})
	}
	// Keys replaced: the old admin key no longer works.
	if n := f.srv.SetAuthorizedKeys(nil); n != 0 {
		t.Errorf("SetAuthorizedKeys(nil) = %d, want 0", n)
	}
	if _, _, code := run(t, "", "ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", "true")...); code != 255 {
		t.Errorf("ssh after SetAuthorizedKeys(nil) code %d, want 255", code)
	}
}

// TestHostKey checks that the advertised fingerprint is the key the
// server really presents: strict host key checking with a known_hosts
// line built from AuthorizedKey().
func TestHostKey(t *testing.T) {
	f := start(t)
	if !strings.HasPrefix(f.srv.AuthorizedKey(), "ssh-ed25519 ") || !strings.HasPrefix(f.srv.Fingerprint(), "SHA256:") {
		t.Fatalf("AuthorizedKey() = %q, Fingerprint() = %q", f.srv.AuthorizedKey(), f.srv.Fingerprint())
	}
	kh := filepath.Join(f.tmp, "known_hosts")
	if err := os.WriteFile(kh, []byte(fmt.Sprintf("[127.0.0.1]:%s %s\n", f.port, f.srv.AuthorizedKey())), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "UserKnownHostsFile=" + kh, "-o", "IdentitiesOnly=yes",
		"-o", "BatchMode=yes", "-i", f.key, "-p", f.port, "root@127.0.0.1", "echo trusted"}
	out, errOut, code := run(t, "", "ssh", args...)
	if code != 0 || out != "trusted\n" {
		t.Errorf("strict ssh: stdout %q stderr %q code %d", out, errOut, code)
	}
	labreq.Check(t, labreq.Tools("ssh-keygen"))
	if kg, err := exec.LookPath("ssh-keygen"); err == nil {
		out, _, _ := run(t, "", kg, "-l", "-f", kh)
		if !strings.Contains(out, f.srv.Fingerprint()) {
			t.Errorf("ssh-keygen -l = %q, want fingerprint %s", out, f.srv.Fingerprint())
		}
	}
}

// TestCloseEndsSessions: Close kills a running session and returns.
func TestCloseEndsSessions(t *testing.T) {
	f := start(t)
	cmd := exec.Command("ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", "echo started; sleep 60")...)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	buf := make([]byte, 8)
	if _, err := io.ReadFull(stdout, buf); err != nil || string(buf) != "started\n" {
		t.Fatalf("read = %q, %v", buf, err)
	}
	done := make(chan error, 1)
	go func() { done <- f.srv.Close() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close() did not return within 10s with a session running")
	}
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		t.Fatal("ssh client still running 10s after Close()")
	}
	if _, _, code := run(t, "", "ssh", f.sshArgs(f.key, "-p", f.port, "root@127.0.0.1", "true")...); code != 255 {
		t.Errorf("ssh after Close() code %d, want 255", code)
	}
}
