package storm

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/pgtest"
)

// TestStormReplicas: the storm against two bootsrv replicas on one
// PostgreSQL database (started here, fsync on), a random replica
// SIGKILLed and restarted about every 0.4 s; every node must finish and
// nothing acknowledged may be lost.
func TestStormReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("storm: not in -short")
	}
	if !InNetns() {
		need(t, os.Geteuid() == 0, "storm needs root for a network namespace (port 67)")
		need(t, pgtest.BinDir() != "", "storm replicas need PostgreSQL (apt-get install postgresql)")
		bin := buildBootsrv(t)
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		var out strings.Builder
		args := []string{os.Args[0], "-test.run", "^TestStormReplicas$", "-test.v", "-test.count=1",
			"-storm.nodes", strconv.Itoa(*stormNodes), "-storm.boots", strconv.Itoa(*stormBoots), "-storm.kill", stormKill.String()}
		err := RunInNetns(ctx, "stormpg", args, []string{"DT_STORM_BOOTSRV=" + bin}, &out, &out)
		t.Log("inside the namespace:\n" + out.String())
		if err != nil {
			t.Fatalf("storm in a network namespace: %v", err)
		}
		return
	}
	bin := os.Getenv("DT_STORM_BOOTSRV")
	if bin == "" {
		t.Fatal("DT_STORM_BOOTSRV is not set inside the namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatal(err)
	}
	srv, err := pgtest.Start(os.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dsn, err := srv.CreateDB("storm")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), Config{
		Bootsrv: bin, Dir: t.TempDir(), Nodes: *stormNodes, Boots: *stormBoots, KillEvery: *stormKill, Timeout: 100 * time.Second,
		StateDB: dsn, Replicas: 2,
	})
	if res != nil {
		t.Logf("storm on 2 replicas: %d/%d nodes done in %s, %d kills, %d starts, %d mode switches and %d events acknowledged, retries %v",
			res.Completed, res.Nodes, res.Took.Round(time.Millisecond), res.Kills, res.Starts, res.ModeSets, res.EventsAcked, res.Retries)
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
		t.Errorf("replicas were killed %d times during the storm, want at least 2", res.Kills)
	}
}
