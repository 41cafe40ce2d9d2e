package storm

import (
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

var (
	stormNodes = flag.Int("storm.nodes", 300, "simulated nodes in TestStormKill")
	stormBoots = flag.Int("storm.boots", 4, "boots of every node in TestStormKill")
	stormKill  = flag.Duration("storm.kill", 400*time.Millisecond, "mean time between SIGKILLs in TestStormKill")
)

// need skips (or, with DT_LAB_REQUIRED=1, fails) when a prerequisite is
// missing.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	labreq.Check(t, labreq.Cond(ok, why))
}

// TestStormKill boots a few hundred simulated nodes at once against a
// bootsrv that is SIGKILLed and restarted about every 0.7 s, then checks
// that all of them finished and no acknowledged event or mode switch was
// lost. It re-runs itself inside a network namespace of its own (port 67).
func TestStormKill(t *testing.T) {
	labreq.Require(t)
	if !InNetns() {
		reexecInNetns(t, "storm", "TestStormKill", 90*time.Second)
		return
	}
	bin := os.Getenv("DT_STORM_BOOTSRV")
	if bin == "" {
		t.Fatal("DT_STORM_BOOTSRV is not set inside the namespace")
	}
	res, err := Run(context.Background(), Config{
		Bootsrv: bin, Dir: t.TempDir(), Nodes: *stormNodes, Boots: *stormBoots, KillEvery: *stormKill, Timeout: 60 * time.Second,
	})
	checkStorm(t, "storm", res, err)
}

// reexecInNetns runs test again inside a network namespace of its own
// with a freshly built bootsrv (DT_STORM_BOOTSRV) and the storm flags.
func reexecInNetns(t *testing.T, netns, test string, timeout time.Duration) {
	t.Helper()
	need(t, os.Geteuid() == 0, "storm needs root for a network namespace (port 67)")
	_, err := exec.LookPath("ip")
	need(t, err == nil, "storm needs the ip command (iproute2)")
	bin := buildBootsrv(t)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out strings.Builder
	args := []string{os.Args[0], "-test.run", "^" + test + "$", "-test.v", "-test.count=1",
		"-storm.nodes", strconv.Itoa(*stormNodes), "-storm.boots", strconv.Itoa(*stormBoots), "-storm.kill", stormKill.String()}
	err = RunInNetns(ctx, netns, args, []string{"DT_STORM_BOOTSRV=" + bin}, &out, &out)
	t.Log("inside the namespace:\n" + out.String())
	if err != nil {
		t.Fatalf("storm in a network namespace: %v", err)
	}
}

// checkStorm logs what a storm did and fails the test on any problem, an
// unfinished node or fewer than two kills (too short to test anything).
func checkStorm(t *testing.T, what string, res *Result, err error) {
	t.Helper()
	if res != nil {
		t.Logf("%s: %d/%d nodes done in %s, %d kills, %d starts, %d mode switches and %d events acknowledged, retries %v",
			what, res.Completed, res.Nodes, res.Took.Round(time.Millisecond), res.Kills, res.Starts, res.ModeSets, res.EventsAcked, res.Retries)
		for step, e := range res.LastErrors {
			t.Logf("last %s failure: %s", step, e)
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems {
		t.Error(p)
	}
	if res.Completed != res.Nodes {
		t.Errorf("completed %d nodes, want %d", res.Completed, res.Nodes)
	}
	if res.Kills < 2 {
		t.Errorf("bootsrv was killed %d times during the storm, want at least 2 (storm too short to test anything)", res.Kills)
	}
}

// buildBootsrv builds cmd/bootsrv into a temporary folder.
func buildBootsrv(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootsrv")
	cmd := exec.Command("go", "build", "-o", bin, "github.com/disklesstrap/disklesstrap/cmd/bootsrv")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build bootsrv: %v\n%s", err, out)
	}
	return bin
}
