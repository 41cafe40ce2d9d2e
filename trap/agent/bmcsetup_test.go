package agent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/bmc"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// fakeIPMI answers every command with success; Get Device ID and the LAN
// MAC/address reads with fixed values. It records "netfn cmd" pairs.
type fakeIPMI struct {
	mu  sync.Mutex
	log []string
}

func (f *fakeIPMI) Send(_ context.Context, netfn, cmd byte, data []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, fmt.Sprintf("%02x %02x", netfn, cmd))
	switch {
	case netfn == 0x06 && cmd == 0x01:
		return []byte{0, 0, 0x03, 0x09, 0x08, 0x02, 0, 0, 0, 0, 0, 0}, nil
	case netfn == 0x0c && cmd == 0x02 && data[1] == 5:
		return []byte{0, 0x11, 0x52, 0x54, 0, 0x15, 0, 4}, nil
	case netfn == 0x0c && cmd == 0x02 && data[1] == 3:
		return []byte{0, 0x11, 198, 18, 0, 104}, nil
	}
	return []byte{0}, nil
}

// TestSetupBMC: a manifest with bmc_setup makes the agent pull the
// password by name, configure the BMC before the plan, and report
// bmc-configured with the MAC and firmware; the password never shows.
func TestSetupBMC(t *testing.T) {
	dev := &fakeIPMI{}
	var pulled []string
	var mu sync.Mutex
	reg := &plan.Registry{}
	var planRan []string
	reg.RegisterMode(manifest.ModeRAMRoot, func(m *manifest.Manifest) (plan.Plan, error) {
		return plan.Plan{step{"fetch", &planRan, &mu, nil}}, nil
	})
	srv := newBootsrv(t, manifest.ModeRAMRoot, nil)
	srv.m.BMCSetup = &manifest.BMCSetup{Address: "198.18.0.104/24", Gateway: "198.18.0.1", Channel: 1, UserID: 2,
		User: "admin", Password: manifest.SecretRef{Name: "bmc"}}
	f := start(t, srv, reg, func(c *Config) {
		c.ReturnAfterPlan = true
		c.BMC = &BMCSeam{
			Open: func(context.Context) (bmc.Device, func() error, error) { return dev, func() error { return nil }, nil },
			Secret: func(_ context.Context, _ *plan.Env, name string) ([]byte, error) {
				mu.Lock()
				pulled = append(pulled, name)
				mu.Unlock()
				return []byte("lab-bmc-pw"), nil
			},
		}
	})
	f.waitOut(t, "*** DisklessTrap: BMC set up: address 198.18.0.104, MAC 52:54:00:15:00:04, firmware 9.08", 1)
	var ev manifest.Event
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		var ok bool
		if ev, ok = srv.event(manifest.PhaseBMCConfigured); ok {
			break
		}
	}
	if ev.Data["bmc_mac"] != "52:54:00:15:00:04" || ev.Data["bmc_firmware"] != "9.08" || ev.Data["bmc_address"] != "198.18.0.104" {
		t.Errorf("bmc-configured event %+v", ev)
	}
	mu.Lock()
	if strings.Join(pulled, ",") != "bmc" {
		t.Errorf("secrets pulled %q, want bmc", pulled)
	}
	mu.Unlock()
	dev.mu.Lock()
	got := strings.Join(dev.log, ",")
	dev.mu.Unlock()
	want := "0c 01,0c 01,0c 01,0c 01,0c 01,0c 01,0c 01,06 45,06 47,06 43,06 47,06 01,0c 02,0c 02"
	if got != want {
		t.Errorf("IPMI commands %s, want %s", got, want)
	}
	if strings.Contains(f.out.String(), "lab-bmc-pw") || strings.Contains(srv.phases(), "lab-bmc-pw") {
		t.Errorf("the BMC password shows on the console or in events")
	}
}
