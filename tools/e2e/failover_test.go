package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// readLoop runs on a booted test OS's console: every second it drops the
// page cache and reads 1 MiB of the decrypted root device (luks_root1, so
// the read goes overlay's lower -> dm-crypt -> dm-multipath -> a path),
// printing "DT-READ i ok" or "DT-READ i ERROR", until /tmp/dt-stop exists.
const readLoop = `( dev=; for d in /sys/block/dm-*; do [ "$(cat $d/dm/name)" = luks_root1 ] && dev=/dev/${d##*/}; done; ` +
	`i=0; while [ ! -e /tmp/dt-stop ]; do echo 3 > /proc/sys/vm/drop_caches; ` +
	`if dd if=$dev of=/dev/null bs=1M count=1 skip=$((i % 32)) 2>/dev/null; then echo "DT-READ $i ok"; else echo "DT-READ $i ERROR"; fi; ` +
	`i=$((i+1)); sleep 1; done; echo DT-READ-DONE ) &` + "\n"

// checkFailover: with a read loop over the booted node's root, cut the
// link of NIC nic (its tap in the lab namespace goes down), expect the
// kernel to fail that path and the reads to go on without an error, bring
// the link back and expect trap pathd to reinstate the path.
func checkFailover(ctx context.Context, t *testing.T, l *lab.Lab, n *lab.Node, nic int) {
	t.Helper()
	tap := n.Taps[nic]
	link := func(state string) {
		t.Helper()
		out, err := exec.CommandContext(ctx, "ip", "-n", l.Namespace(), "link", "set", tap, state).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link set %s %s: %v\n%s", tap, state, err, out)
		}
	}
	start := n.ConsoleOffset()
	if err := n.SendConsole(readLoop); err != nil {
		t.Fatal(err)
	}
	okAfter := func(from int, what string, timeout time.Duration) {
		t.Helper()
		if _, err := n.WaitConsoleFrom(ctx, from, regexp.MustCompile(`DT-READ \d+ ok`), timeout); err != nil {
			t.Fatalf("%s: no successful read %s: %v\n%s", n.Name, what, err, n.ConsoleTail(40))
		}
	}
	okAfter(start, "before the cut", 2*time.Minute)
	okAfter(n.ConsoleOffset(), "before the cut (second)", time.Minute)

	t0 := time.Now()
	cut := n.ConsoleOffset()
	link("down")
	t.Logf("%s: NIC %d (%s) link cut", n.Name, nic, tap)
	if _, err := n.WaitConsoleFrom(ctx, cut, regexp.MustCompile(`msg="multipath path down"`), 3*time.Minute); err != nil {
		link("up")
		t.Fatalf("%s: the cut path was not failed: %v\n%s", n.Name, err, n.ConsoleTail(40))
	}
	t.Logf("TIMING %s: path failed %.1fs after the cut", n.Name, time.Since(t0).Seconds())
	okAfter(n.ConsoleOffset(), "on the remaining path", 2*time.Minute)
	t.Logf("TIMING %s: reads go on %.1fs after the cut", n.Name, time.Since(t0).Seconds())

	t1 := time.Now()
	back := n.ConsoleOffset()
	link("up")
	if _, err := n.WaitConsoleFrom(ctx, back, regexp.MustCompile(`msg="multipath path reinstated"`), 3*time.Minute); err != nil {
		t.Fatalf("%s: the path was not reinstated after the link came back: %v\n%s", n.Name, err, n.ConsoleTail(40))
	}
	t.Logf("TIMING %s: path reinstated %.1fs after the link came back", n.Name, time.Since(t1).Seconds())
	okAfter(n.ConsoleOffset(), "after the reinstatement", time.Minute)
	if err := n.SendConsole("touch /tmp/dt-stop\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.WaitConsoleFrom(ctx, start, regexp.MustCompile(`DT-READ-DONE`), time.Minute); err != nil {
		t.Fatalf("%s: read loop did not stop: %v", n.Name, err)
	}
	text := lab.CleanConsole(n.ConsoleText()[start:])
	reads := regexp.MustCompile(`DT-READ \d+ (ok|ERROR)`).FindAllString(text, -1)
	var errs []string
	for _, r := range reads {
		if strings.HasSuffix(r, "ERROR") {
			errs = append(errs, r)
		}
	}
	t.Logf("%s: %d reads during the failover test, %d errors", n.Name, len(reads), len(errs))
	if len(errs) > 0 {
		t.Errorf("%s: the read loop saw I/O errors: %s", n.Name, strings.Join(errs, ", "))
	}
	if lines := grepLines(text, "trap-pathd"); lines != "" {
		t.Logf("%s: pathd on the console:\n%s", n.Name, lines)
	}
	t.Logf("%s: iscsid on the console:\n%s", n.Name, grepLines(text, "iscsid"))
}

func grepLines(text, substr string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			fmt.Fprintln(&b, strings.TrimSpace(l))
		}
	}
	return b.String()
}
