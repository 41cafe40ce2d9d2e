package lab

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// childEnv selects what TestLabChild does when the parent re-runs the test
// binary: "fatal" fails the test with t.Fatal, "crash" waits to be killed.
const childEnv = "DT_LAB_CHILD"

var childLineRE = regexp.MustCompile(`DTLAB-CHILD ns=(\S+) dir=(\S+) pids=([0-9,]+)`)

// TestLabChild is run by TestFailureCleanup in a child process only.
func TestLabChild(t *testing.T) {
	mode := os.Getenv(childEnv)
	if mode == "" {
		t.Skip("helper run by TestFailureCleanup in a child process")
	}
	l, err := New(t, Options{Bridges: []Bridge{DefaultBridge, SecondBridge}})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n, err := l.Boot(NodeSpec{Name: "doomed", MACs: []string{"52:54:00:d7:03:01", "52:54:00:d7:03:02"}})
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	p, err := l.Start("sleeper", l.Exec(context.Background(), "sleep", "600"))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := n.WaitConsole(ctx, "iPXE", time.Minute); err != nil {
		t.Fatalf("WaitConsole: %v", err)
	}
	fmt.Printf("DTLAB-CHILD ns=%s dir=%s pids=%d,%d\n", l.Namespace(), l.Dir(), n.PID(), p.PID())
	os.Stdout.Sync()
	switch mode {
	case "fatal":
		failDeepInside(t)
	case "crash":
		time.Sleep(5 * time.Minute) // the parent SIGKILLs us
	}
}

// failDeepInside stands for a helper deep in a test that gives up.
func failDeepInside(t *testing.T) {
	t.Helper()
	t.Fatal("deliberate failure: the lab must still be cleaned up")
}

// syncBuf collects the child's output from a draining goroutine.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuf) add(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.WriteString(line + "\n")
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// childLab is what the child reported about its lab.
type childLab struct {
	cmd     *exec.Cmd
	ns, dir string
	pids    []int
	log     *syncBuf
}

// runChild starts the test binary's TestLabChild in mode and returns the
// namespace and PIDs it reported, plus the running command.
func runChild(t *testing.T, mode string) childLab {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLabChild$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+mode)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	log := &syncBuf{}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	timeout := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("child ended without reporting its lab:\n%s", log.String())
			}
			log.add(line)
			if m := childLineRE.FindStringSubmatch(line); m != nil {
				var pids []int
				for _, s := range strings.Split(m[3], ",") {
					pid, _ := strconv.Atoi(s)
					pids = append(pids, pid)
				}
				go func() { // keep draining
					for l := range lines {
						log.add(l)
					}
				}()
				return childLab{cmd: cmd, ns: m[1], dir: m[2], pids: pids, log: log}
			}
		case <-timeout:
			t.Fatalf("child did not report its lab in 2 min:\n%s", log.String())
		}
	}
}

// TestFailureCleanup checks that a test failing with t.Fatal, and a test
// process killed outright (then Reap), leave no namespace and no process.
func TestFailureCleanup(t *testing.T) {
	requireQEMU(t)
	if os.Getenv(childEnv) != "" {
		t.Skip("in child")
	}
	t.Run("fatal", func(t *testing.T) {
		c := runChild(t, "fatal")
		err := c.cmd.Wait()
		time.Sleep(100 * time.Millisecond) // let the drain goroutine finish
		if err == nil {
			t.Fatalf("child passed, want it to fail:\n%s", c.log)
		}
		if !strings.Contains(c.log.String(), "deliberate failure") {
			t.Errorf("child failed for another reason: %v\n%s", err, c.log)
		}
		assertGone(t, c.ns, c.pids)
		if _, err := os.Stat(c.dir); err == nil {
			// A failed test keeps its lab dir for inspection; that is by design.
			t.Logf("child kept %s for inspection (expected after a failure)", c.dir)
			os.RemoveAll(c.dir)
		}
	})
	t.Run("killed-then-reap", func(t *testing.T) {
		c := runChild(t, "crash")
		ns := c.ns
		if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		c.cmd.Wait()
		if !NamespaceExists(ns) {
			t.Fatalf("namespace %s vanished without Reap; the test proves nothing", ns)
		}
		n, err := Reap()
		if err != nil {
			t.Fatalf("Reap: %v", err)
		}
		if n < 1 {
			t.Errorf("Reap() = %d, want >= 1", n)
		}
		assertGone(t, ns, c.pids)
		os.RemoveAll(c.dir) // the killed child could not remove it
	})
}

func assertGone(t *testing.T, ns string, pids []int) {
	t.Helper()
	if NamespaceExists(ns) {
		t.Errorf("namespace %s still exists", ns)
		removeNamespace(ns)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for PIDAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if PIDAlive(pid) {
			t.Errorf("pid %d still alive", pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// TestSetupFailureCleanup makes New fail halfway (the second bridge's name
// clashes with lo) and checks no namespace of ours is left.
func TestSetupFailureCleanup(t *testing.T) {
	requireNetns(t)
	before := ourNamespaces(t)
	_, err := New(nil, Options{Bridges: []Bridge{DefaultBridge, {Name: "lo", Addr: SecondBridge.Addr}}})
	if err == nil {
		t.Fatalf("New with a bridge named lo succeeded, want error")
	}
	if after := ourNamespaces(t); len(after) != len(before) {
		t.Errorf("namespaces after failed New = %v, want %v", after, before)
	}
}

// TestBootFailure boots a node with a QEMU binary that does not exist:
// WaitConsole must fail fast, and Close must still clean up.
func TestBootFailure(t *testing.T) {
	requireQEMU(t)
	l := newTestLab(t, Options{QEMU: "/nonexistent/qemu"})
	n, err := l.Boot(NodeSpec{Name: "broken"})
	if err != nil {
		t.Fatalf("Boot: %v (want the failure to show when waiting)", err)
	}
	start := time.Now()
	err = n.WaitConsole(context.Background(), "never", time.Minute)
	if err == nil || !strings.Contains(err.Error(), "qemu exited") {
		t.Errorf("WaitConsole = %v, want a qemu exited error", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("WaitConsole took %s to notice the exit", d)
	}
	if _, err := l.Boot(NodeSpec{Name: "broken"}); err == nil {
		t.Errorf("second Boot with the same name succeeded, want error")
	}
	ns := l.Namespace()
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if NamespaceExists(ns) {
		t.Errorf("namespace %s exists after Close", ns)
	}
}

func ourNamespaces(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(netnsDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	prefix := fmt.Sprintf("%s%d-", nsPrefix, os.Getpid())
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	return names
}
