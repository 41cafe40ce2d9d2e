package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/bmc"
	"github.com/disklesstrap/disklesstrap/trap/iscsi"
	"github.com/disklesstrap/disklesstrap/trap/modload"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// BMCSeam opens the local BMC and fetches the BMC password (tests: a
// recording fake and a fixed value).
type BMCSeam struct {
	Open   func(ctx context.Context) (bmc.Device, func() error, error)
	Secret func(ctx context.Context, env *plan.Env, name string) ([]byte, error)
}

// bmcModules are loaded only for setupbmc: yes (initrd.BMCModules).
var bmcModules = []string{"ipmi_msghandler", "ipmi_si", "ipmi_devintf"}

const ipmiDevice = "/dev/ipmi0"

// setupBMC configures the node's own BMC once per boot when the manifest
// asks for it (setupbmc: yes), before the plan runs. Best effort: a
// failure is reported (bmc-failed) and shown, and the plan goes on.
func (a *agent) setupBMC(ctx context.Context, m *manifest.Manifest) {
	a.mu.Lock()
	done := a.bmcDone
	a.bmcDone = true
	a.mu.Unlock()
	if m.BMCSetup == nil || done {
		return
	}
	info, err := a.runBMCSetup(ctx, m)
	if err != nil {
		a.printf("BMC set-up: %v", err)
		a.report(manifest.PhaseBMCFailed, err.Error(), nil)
		return
	}
	a.printf("BMC set up: address %s, MAC %s, firmware %s", info.Address, info.MAC, info.Firmware)
	a.report(manifest.PhaseBMCConfigured, "BMC "+info.Address+" mac "+info.MAC+" firmware "+info.Firmware,
		map[string]string{"bmc_address": info.Address, "bmc_mac": info.MAC, "bmc_firmware": info.Firmware})
}

func (a *agent) runBMCSetup(ctx context.Context, m *manifest.Manifest) (bmc.Info, error) {
	s := m.BMCSetup
	if err := s.Validate(); err != nil {
		return bmc.Info{}, err
	}
	c := bmc.Config{Channel: byte(s.Channel), Addr: netip.MustParsePrefix(s.Address), UserID: byte(s.UserID), User: s.User}
	if s.Gateway != "" {
		c.Gateway = netip.MustParseAddr(s.Gateway)
	}
	seam := a.cfg.BMC
	if seam == nil {
		seam = &BMCSeam{Open: a.openIPMI, Secret: iscsi.Real{}.Secret}
	}
	pw, err := seam.Secret(ctx, a.env(m, a.log), s.Password.Name)
	if err != nil {
		return bmc.Info{}, fmt.Errorf("bmc_password: %w", err)
	}
	defer clear(pw)
	c.Password = pw
	d, closeDev, err := seam.Open(ctx)
	if err != nil {
		return bmc.Info{}, err
	}
	defer closeDev()
	return bmc.Setup(ctx, d, c)
}

// openIPMI loads the OpenIPMI modules and opens /dev/ipmi0 (devtmpfs
// creates it when ipmi_si finds the KCS interface).
func (a *agent) openIPMI(ctx context.Context) (bmc.Device, func() error, error) {
	p, err := modload.Kmodule(a.cfg.Root, a.file.KernelVersion, nil)
	if err != nil {
		return nil, nil, err
	}
	r := modload.Load(p, bmcModules, a.log)
	a.log.Info("BMC kernel modules", "result", r.String())
	var last error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(200 * time.Millisecond) {
		d, err := bmc.OpenDevice(ipmiDevice)
		if err == nil {
			return d, d.Close, nil
		}
		last = err
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	return nil, nil, fmt.Errorf("%s (modules %s): %w", ipmiDevice, r.String(), last)
}
