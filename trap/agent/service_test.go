package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// TestServiceReportsHardware: a node in mode service stays in the trap and
// sends its hardware report (the disks under its root) for `trapctl node
// inventory`.
func TestServiceReportsHardware(t *testing.T) {
	srv := newBootsrv(t, manifest.ModeService, nil)
	f := start(t, srv, &plan.Registry{}, func(c *Config) {
		blk := filepath.Join(c.Root, "sys", "block", "vda")
		os.MkdirAll(blk, 0o755)
		os.WriteFile(filepath.Join(blk, "size"), []byte("2097152\n"), 0o644)
		os.WriteFile(filepath.Join(blk, "serial"), []byte("DT-SVC\n"), 0o644)
	})
	f.waitOut(t, inTrap, 1)
	var ev manifest.Event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if ev, ok = srv.event(manifest.PhaseInventory); ok {
			break
		}
	}
	var hw manifest.Hardware
	if err := json.Unmarshal([]byte(ev.Data["inventory"]), &hw); err != nil {
		t.Fatalf("inventory event %+v: %v (events: %s)", ev, err, srv.phases())
	}
	if len(hw.Disks) != 1 || hw.Disks[0].Serial != "DT-SVC" || hw.Disks[0].Bytes != 1<<30 {
		t.Errorf("reported disks %+v", hw.Disks)
	}
	if ev.Message != "1 disk(s), 0 NIC(s), firmware unknown" {
		t.Errorf("inventory event message %q", ev.Message)
	}
}
