package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// TestDemo runs `make demo`'s program (`lab demo`) the way the README's
// quick start does, stopping once the example cluster is up: cn001 (BIOS)
// and cn002 (UEFI) in the trap with their ssh commands printed, cn003
// booted into the test OS in mode ramroot; then the demo must remove its
// namespace.
func TestDemo(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bin, err := labcluster.GoBuild(ctx, "./cmd/lab", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	out, err := exec.CommandContext(ctx, bin, "demo", "--exit-when-ready").CombinedOutput()
	text := string(out)
	t.Logf("lab demo --exit-when-ready (%.0fs):\n%s", time.Since(t0).Seconds(), text)
	if err != nil {
		t.Fatalf("lab demo: %v", err)
	}
	for _, re := range []string{`(?m)^lab: cn001 trapped after \d+s$`, `(?m)^lab: cn002 trapped after \d+s$`,
		`(?m)^lab: cn003 booted its OS image \(ramroot`, `3 nodes are up`,
		`(?m)^  ssh into cn001 \(in the trap\):\n    ip netns exec \S+ ssh .*-o UserKnownHostsFile=\S+/known_hosts -o StrictHostKeyChecking=yes root@198\.18\.0\.11$`,
		`(?m)^  ssh into cn002 \(in the trap\):\n    ip netns exec \S+ ssh .*-o UserKnownHostsFile=\S+/known_hosts -o StrictHostKeyChecking=yes root@198\.18\.0\.12$`,
		`(?m)^\s*cn001\s+trap\s`, `(?m)^\s*cn003\s+ramroot\s.*os-booted`,
		`(?m)^    export TRAPCTL_SERVER=unix:///\S+/run/admin\.sock$`, `(?m)^    \S+ admin token create alice --out alice\.json$`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("demo output has no match for %s", re)
		}
	}
	ns := regexp.MustCompile(`removing namespace (\S+)`).FindStringSubmatch(text)
	if ns == nil {
		t.Fatalf("demo did not say it removed its namespace")
	}
	if list, _ := exec.Command("ip", "netns", "list").Output(); strings.Contains(string(list), ns[1]) {
		t.Errorf("namespace %s still exists after the demo:\n%s", ns[1], list)
	}
}
