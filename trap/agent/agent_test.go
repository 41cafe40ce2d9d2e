package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/ctl"
	"github.com/disklesstrap/disklesstrap/trap/plan"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// bootsrv is a fake server: manifests (failing the first `fail`
// requests) and an event log.
type bootsrv struct {
	mu     sync.Mutex
	m      manifest.Manifest
	fail   int
	gets   int
	events []manifest.Event
	srv    *httptest.Server
}

func newBootsrv(t *testing.T, mode manifest.Mode, keys []string) *bootsrv {
	b := &bootsrv{}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serve))
	t.Cleanup(b.srv.Close)
	b.m = manifest.Manifest{Version: 1, Node: "cn001", Hostname: "cn001", Mode: mode, Server: b.srv.URL, SSHKeys: keys}
	return b
}

func (b *bootsrv) serve(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/manifest/cn001":
		b.gets++
		if b.fail > 0 {
			b.fail--
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(b.m)
	case r.Method == http.MethodPost && r.URL.Path == "/api/v1/events":
		var ev manifest.Event
		if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b.events = append(b.events, ev)
	default:
		http.NotFound(w, r)
	}
}

func (b *bootsrv) setMode(m manifest.Mode) {
	b.mu.Lock()
	b.m.Mode = m
	b.mu.Unlock()
}

// phases lists the reported phases (step events as phase:step).
func (b *bootsrv) phases() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var p []string
	for _, ev := range b.events {
		s := ev.Phase
		if st := ev.Data["step"]; st != "" {
			s += ":" + st
		}
		p = append(p, s)
	}
	return strings.Join(p, " ")
}

func (b *bootsrv) event(phase string) (manifest.Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ev := range b.events {
		if ev.Phase == phase {
			return ev, true
		}
	}
	return manifest.Event{}, false
}

type fixture struct {
	srv     *bootsrv
	out     *syncBuf
	console *os.File // write end of the console's stdin
	sock    string
	home    string
	errc    chan error
	cancel  context.CancelFunc
}

func start(t *testing.T, srv *bootsrv, reg *plan.Registry, mutate func(*Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "root")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	cmdline := filepath.Join(dir, "cmdline")
	if err := os.WriteFile(cmdline, []byte("console=ttyS0 BOOTIF=01-52-54-00-12-34-56 dt.server="+srv.srv.URL+" dt.node=cn001\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, out: &syncBuf{}, console: pw, sock: filepath.Join(dir, "trap.sock"), home: home, errc: make(chan error, 1)}
	cfg := Config{
		Root: dir, CmdlinePath: cmdline, SSHAddr: "127.0.0.1:0", Socket: f.sock,
		ConsoleIn: pr, ConsoleOut: f.out, Shell: "/bin/sh", Home: home,
		Registry: reg, FetchAttempts: 5, FetchBackoff: 10 * time.Millisecond, Log: quiet,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.errc <- Run(ctx, cfg) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-f.errc:
		case <-time.After(10 * time.Second):
			t.Errorf("Run() did not return 10s after cancel")
		}
		pw.Close()
		pr.Close()
	})
	return f
}

func (f *fixture) waitOut(t *testing.T, substr string, count int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Count(f.out.String(), substr) >= count {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("console never showed %q %d times; console:\n%s\nevents: %s", substr, count, f.out.String(), f.srv.phases())
}

func (f *fixture) call(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out bytes.Buffer
	err := ctl.Call(ctx, f.sock, args, &out)
	return out.String(), err
}

const inTrap = "*** DisklessTrap: in the trap"

// TestTrapLoop: a trap-mode node stays in the trap; `exit` on the console
// leaves it, and so does `trap continue`; the trap mode has no plan, so
// each time the node drops back into the trap with the error shown.
func TestTrapLoop(t *testing.T) {
	srv := newBootsrv(t, manifest.ModeTrap, nil)
	srv.fail = 2 // the manifest fetch must retry
	f := start(t, srv, &plan.Registry{}, nil)
	f.waitOut(t, inTrap+" (node cn001, mode trap)", 1)

	out, err := f.call(t, "status")
	if err != nil || !strings.Contains(out, "phase:    trapped") || !strings.Contains(out, "mode:     trap") || !strings.Contains(out, "ssh:      127.0.0.1:") {
		t.Errorf("trap status = %q, %v", out, err)
	}
	out, err = f.call(t, "manifest")
	if err != nil || !strings.Contains(out, `"node": "cn001"`) {
		t.Errorf("trap manifest = %q, %v", out, err)
	}
	if _, err := f.call(t, "plan"); err == nil || !strings.Contains(err.Error(), "mode trap: nothing to continue to") {
		t.Errorf("trap plan error = %v, want nothing to continue to", err)
	}

	// The console shell runs with the prompt environment; exit leaves.
	fmt.Fprintf(f.console, "echo \"console $HOME $PS1\"\nexit\n")
	f.waitOut(t, "console "+f.home+" root@cn001_DisklessTrap:/root# ", 1)
	f.waitOut(t, "*** DisklessTrap: leaving the trap (console shell exited)", 1)
	f.waitOut(t, "*** DisklessTrap: mode trap: nothing to continue to", 1)
	f.waitOut(t, inTrap, 2)

	// trap continue over the socket leaves too (and kills the console shell).
	out, err = f.call(t, "continue")
	if err != nil || out != "leaving the trap\n" {
		t.Errorf("trap continue = %q, %v", out, err)
	}
	f.waitOut(t, "*** DisklessTrap: leaving the trap (trap continue)", 1)
	f.waitOut(t, inTrap, 3)

	// The console still works after being restarted.
	fmt.Fprintf(f.console, "echo again-$((1+1))\n")
	f.waitOut(t, "again-2", 1)

	if gets := func() int { srv.mu.Lock(); defer srv.mu.Unlock(); return srv.gets }(); gets < 5 {
		t.Errorf("manifest GETs = %d, want >= 5 (2 failures, first fetch, 2 refreshes)", gets)
	}
	ev, ok := srv.event(manifest.PhaseHostKey)
	if !ok || !strings.HasPrefix(ev.Data["key"], "ssh-ed25519 ") || !strings.HasPrefix(ev.Data["fingerprint"], "SHA256:") || ev.Node != "cn001" || ev.MAC != "52:54:00:12:34:56" {
		t.Errorf("host key event = %+v, %v", ev, ok)
	}
	if !strings.Contains(f.out.String(), ev.Data["fingerprint"]) {
		t.Errorf("console does not show the host key fingerprint %s", ev.Data["fingerprint"])
	}
	want := "agent-start manifest ssh-hostkey trapped continue manifest error trapped continue manifest error trapped"
	deadline := time.Now().Add(5 * time.Second)
	for !strings.HasPrefix(srv.phases(), want) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := srv.phases(); !strings.HasPrefix(got, want) {
		t.Errorf("events = %q, want prefix %q", got, want)
	}
	f.cancel()
	if err := <-f.errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v, want context.Canceled", err)
	}
	f.errc <- nil // for the cleanup
}

// step is a recording plan step that fails while fail > 0.
type step struct {
	name string
	log  *[]string
	mu   *sync.Mutex
	fail *int
}

func (s step) Name() string   { return s.name }
func (s step) String() string { return "test step " + s.name }
func (s step) Run(ctx context.Context, env *plan.Env) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	*s.log = append(*s.log, s.name)
	if s.fail != nil && *s.fail > 0 {
		*s.fail--
		return errors.New("no zram device")
	}
	return nil
}

// TestFailingStepTraps: a failing step lands in the trap with the error
// on the console; `trap continue` resumes from the failed step.
func TestFailingStepTraps(t *testing.T) {
	var (
		mu    sync.Mutex
		ran   []string
		fails = 1
	)
	reg := &plan.Registry{}
	reg.RegisterMode(manifest.ModeRAMRoot, func(m *manifest.Manifest) (plan.Plan, error) {
		return plan.Plan{step{"fetch", &ran, &mu, nil}, step{"zram", &ran, &mu, &fails}, step{"overlay", &ran, &mu, nil}}, nil
	})
	reg.RegisterCommand("zram", func(m *manifest.Manifest, args []string) (plan.Step, error) {
		return step{"zram", &ran, &mu, nil}, nil
	})
	srv := newBootsrv(t, manifest.ModeRAMRoot, nil)
	f := start(t, srv, reg, func(c *Config) { c.ReturnAfterPlan = true })
	f.waitOut(t, "*** DisklessTrap: step 2 (zram) failed: no zram device", 1)
	f.waitOut(t, inTrap, 1)

	out, err := f.call(t, "plan")
	if want := "   1. fetch          test step fetch\n-> 2. zram           test step zram\n   3. overlay        test step overlay\n"; err != nil || out != want {
		t.Errorf("trap plan = %q, %v, want %q", out, err, want)
	}
	out, err = f.call(t, "status")
	if err != nil || !strings.Contains(out, "error:    step 2 (zram): no zram device") || !strings.Contains(out, "next 2") {
		t.Errorf("trap status = %q, %v", out, err)
	}
	// A step by hand, from inside the trap.
	out, err = f.call(t, "zram", "extra")
	if err != nil || !strings.Contains(out, "zram: done") {
		t.Errorf("trap zram = %q, %v", out, err)
	}
	if out, err := f.call(t, "help"); err != nil || !strings.Contains(out, "this node's plan, in order (each step runs alone as trap NAME): fetch, zram, overlay\n") {
		t.Errorf("trap help = %q, %v, want the plan's steps", out, err)
	}
	// A step of the node's plan that has no command of its own: the
	// plan's step runs (`trap overlay` in mode iscsi is iscsi's overlay).
	out, err = f.call(t, "overlay")
	if err != nil || !strings.Contains(out, "overlay: done") {
		t.Errorf("trap overlay = %q, %v", out, err)
	}
	if _, err := f.call(t, "luks", "open"); err == nil || !strings.Contains(err.Error(), `unknown command "luks open"`) {
		t.Errorf("trap luks open error = %v", err)
	}
	if _, err := f.call(t, "continue"); err != nil {
		t.Fatalf("trap continue: %v", err)
	}
	select {
	case err := <-f.errc:
		if err != nil {
			t.Fatalf("Run() = %v, want nil after the plan finished", err)
		}
		f.errc <- nil
	case <-time.After(15 * time.Second):
		t.Fatalf("plan did not finish after trap continue; console:\n%s", f.out.String())
	}
	f.waitOut(t, "*** DisklessTrap: resuming the plan at step 2 (zram)", 1)
	mu.Lock()
	got := strings.Join(ran, " ")
	mu.Unlock()
	if want := "fetch zram zram overlay zram overlay"; got != want {
		t.Errorf("steps ran %q, want %q (by hand, then resumed at step 2)", got, want)
	}
	if _, err := f.call(t, "status"); err == nil {
		t.Errorf("control socket still answers after Run returned")
	}
	wantEv := "step-start:fetch step-done:fetch step-start:zram step-failed:zram ssh-hostkey trapped"
	if p := srv.phases(); !strings.Contains(p, wantEv) || !strings.Contains(p, "step-done:overlay") {
		t.Errorf("events = %q, want %q ... step-done:overlay", p, wantEv)
	}
}

// TestNoManifest: an unreachable server lands in the trap with the error;
// after `trap continue` the fetch is retried, and a trap-mode manifest
// keeps the node trapped.
func TestNoManifest(t *testing.T) {
	srv := newBootsrv(t, manifest.ModeTrap, nil)
	srv.fail = 1000
	f := start(t, srv, &plan.Registry{}, func(c *Config) { c.FetchAttempts = 2 })
	f.waitOut(t, "*** DisklessTrap: fetch manifest "+srv.srv.URL+"/manifest/cn001: HTTP 503", 1)
	f.waitOut(t, inTrap+" (node cn001, mode unknown)", 1)
	out, err := f.call(t, "status")
	if err != nil || !strings.Contains(out, "(no manifest)") {
		t.Errorf("trap status = %q, %v", out, err)
	}
	srv.mu.Lock()
	srv.fail = 0
	srv.mu.Unlock()
	if _, err := f.call(t, "continue"); err != nil {
		t.Fatalf("trap continue: %v", err)
	}
	f.waitOut(t, inTrap+" (node cn001, mode trap)", 1)
	if _, err := f.call(t, "continue", "now"); err != nil {
		t.Fatalf("trap continue: %v", err)
	}
	// Switched to a mode this agent has no plan for: error, back in the trap.
	srv.setMode(manifest.ModeISCSI)
	f.waitOut(t, inTrap, 3)
}

// TestSSHIntoAgent logs into the trap with the real OpenSSH client using
// the manifest's key and checks the session environment.
func TestSSHIntoAgent(t *testing.T) {
	labreq.Check(t, labreq.Tools("ssh"))
	dir := t.TempDir()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "id")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spub, _ := ssh.NewPublicKey(pub)
	srv := newBootsrv(t, manifest.ModeTrap, []string{string(ssh.MarshalAuthorizedKey(spub))})
	f := start(t, srv, &plan.Registry{}, nil)
	f.waitOut(t, inTrap, 1)
	out, _ := f.call(t, "status")
	_, rest, _ := strings.Cut(out, "ssh:      127.0.0.1:")
	port, _, _ := strings.Cut(rest, " ")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "IdentitiesOnly=yes", "-i", keyPath, "-p", port, "root@127.0.0.1", `echo "$HOME|$PS1|$DT_TRAP_SOCK"; pwd; exit 4`)
	b, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("ssh: %v, output %q", err, b)
	}
	want := f.home + "|root@cn001_DisklessTrap:/root# |" + f.sock + "\n" + f.home + "\n"
	if string(b) != want {
		t.Errorf("ssh output = %q, want %q", b, want)
	}
}

func TestReadFileConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config.json")
	fc, err := ReadFileConfig(p)
	if err != nil || strings.Join(fc.Modules, ",") != "virtio_net,e1000" {
		t.Errorf("ReadFileConfig(missing) = %+v, %v, want default modules", fc, err)
	}
	os.WriteFile(p, []byte(`{"modules":["e1000","zram num_devices=2"],"shell":"/bin/ash"}`), 0o644)
	fc, err = ReadFileConfig(p)
	if err != nil || strings.Join(fc.Modules, ",") != "e1000,zram num_devices=2" || fc.Shell != "/bin/ash" {
		t.Errorf("ReadFileConfig() = %+v, %v", fc, err)
	}
	os.WriteFile(p, []byte(`{"modules":`), 0o644)
	if fc, err := ReadFileConfig(p); err == nil || len(fc.Modules) != 2 {
		t.Errorf("ReadFileConfig(bad json) = %+v, %v, want error and default modules", fc, err)
	}
}
