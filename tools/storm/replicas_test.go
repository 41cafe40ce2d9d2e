package storm

import (
	"context"
	"os"
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
		need(t, pgtest.BinDir() != "", "storm replicas need PostgreSQL (apt-get install postgresql)")
		reexecInNetns(t, "stormpg", "TestStormReplicas", 150*time.Second)
		return
	}
	bin := os.Getenv("DT_STORM_BOOTSRV")
	if bin == "" {
		t.Fatal("DT_STORM_BOOTSRV is not set inside the namespace")
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
	checkStorm(t, "storm on 2 PostgreSQL replicas", res, err)
}
