package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// dhcpOpts are the DHCP benchmark's knobs.
type dhcpOpts struct {
	Seconds  int     // perfdhcp -p for each fine step
	Start    int     // first rate of the coarse search
	Step     int     // fine step (Kea's method: 500)
	MaxLoss  float64 // 0.025
	Clients  int     // -R for the pool runs
	Reserved int     // reservations (and -R) for the reservation runs
	Cases    string  // comma-separated: "pool", "reservations"
}

// dhcpTarget is one server under test.
type dhcpTarget struct {
	name  string
	start func(dir string) (*proc, error)
}

// search finds the highest rate, stepping by o.Step, at which at most
// o.MaxLoss of the exchanges are lost and perfdhcp sent what was asked
// (a step perfdhcp could not deliver measures perfdhcp, not the server).
// A coarse doubling pass with short runs finds the region first, so that
// the fine 500-step pass starts near the answer instead of at zero.
// limit says what ended the search: the first failing fine step's loss
// (the server) or perfdhcp falling short, with both sides' CPU use.
func search(ctx context.Context, log func(string, ...any), t perfTarget, mac string, clients int, o dhcpOpts, serverPID int) (best perfResult, limit string, err error) {
	run := func(rate, secs int) (perfResult, error) {
		c0, cerr := procCPU(serverPID)
		t0 := time.Now()
		r, line, err := perfdhcp(ctx, "1", t, mac, rate, clients, secs)
		if err != nil {
			return r, err
		}
		c1, cerr2 := procCPU(serverPID)
		if cerr != nil || cerr2 != nil {
			return r, fmt.Errorf("server CPU time: %w", errors.Join(cerr, cerr2))
		}
		r.ServerCPU = (c1 - c0).Seconds() / time.Since(t0).Seconds()
		log("  %s -> %.0f exchanges/s, loss %.2f %%, sent %d of %d DISCOVERs; CPU: server %.0f %%, perfdhcp %.0f %%",
			line, r.Rate, 100*r.Loss(), r.Discovers, rate*secs, 100*r.ServerCPU, 100*r.CPU)
		return r, nil
	}
	pass := func(r perfResult) bool { return r.Loss() <= o.MaxLoss && r.Delivered(o.MaxLoss) }
	// Warm up: one short run at half the start rate, so that sockets,
	// caches and the first leases exist before anything is measured. It
	// leases only the clients it reaches (Start/2 x 3 s of the -R clients,
	// e.g. ~3,000 of 60,000); the rest get their first lease during the
	// search, as they would in a boot storm.
	if _, err := run(o.Start/2, 3); err != nil {
		return best, "", err
	}
	lo := 0
	for rate := o.Start; ; rate *= 2 {
		r, err := run(rate, 3)
		if err != nil {
			return best, "", err
		}
		if !pass(r) {
			break
		}
		lo = rate
		if rate > 1_000_000 {
			return best, "", fmt.Errorf("perfdhcp: no loss at %d exchanges/s", rate)
		}
	}
	rate := max(o.Step, (lo/o.Step)*o.Step)
	for {
		r, err := run(rate, o.Seconds)
		if err != nil {
			return best, "", err
		}
		switch {
		case pass(r):
			best = r
			rate += o.Step
		case best.RateTarget != 0:
			return best, stepLimit(r, o.MaxLoss), nil
		case rate > o.Step:
			rate -= o.Step // the coarse pass's rate fails in a long run: go down
		default:
			return perfResult{}, stepLimit(r, o.MaxLoss), nil // nothing passes, not even one step
		}
	}
}

// stepLimit says why the failing step r failed and which side was busy.
func stepLimit(r perfResult, maxLoss float64) string {
	why := fmt.Sprintf("loss %.1f %% at %d", 100*r.Loss(), r.RateTarget)
	if !r.Delivered(maxLoss) {
		why = fmt.Sprintf("perfdhcp sent %d of %d at %d", r.Discovers, r.RateTarget*r.Seconds, r.RateTarget)
	}
	return fmt.Sprintf("%s; CPU server %.0f %%, perfdhcp %.0f %%: %s saturated", why, 100*r.ServerCPU, 100*r.CPU, saturated(r.ServerCPU, r.CPU))
}

// perfTarget is where perfdhcp sends from (-l: an address to relay from,
// or an interface to broadcast on) and to (the server, "" = broadcast).
type perfTarget struct{ iface, server string }

// keaConfig is a Kea DHCPv4 configuration for the loopback network: the
// same subnet and pool as storm.Inventory, leases persisted to a memfile,
// single-threaded, and the reservations of nodes 1..reserved.
func keaConfig(dir string, reserved int) ([]byte, error) {
	// Only 127.0.0.1: perfdhcp owns 127.0.0.2:67.
	return keaConfigOn(dir, reserved, "lo/"+storm.ServerAddr.String(), storm.Subnet, storm.PoolStart, storm.PoolEnd)
}

// keaConfigOn is keaConfig on interface iface ("lo/127.0.0.1": UDP
// sockets on that address; a bare name: Kea's default raw sockets) with
// subnet and pool.
func keaConfigOn(dir string, reserved int, iface, subnet, poolStart, poolEnd string) ([]byte, error) {
	type resv struct {
		HW string `json:"hw-address"`
		IP string `json:"ip-address"`
	}
	rs := make([]resv, 0, reserved)
	for i := 1; i <= reserved; i++ {
		rs = append(rs, resv{storm.NodeMAC(i).String(), storm.NodeIP(i).String()})
	}
	ifaces := map[string]any{"interfaces": []string{iface}}
	if strings.Contains(iface, "/") {
		ifaces["dhcp-socket-type"] = "udp"
	}
	cfg := map[string]any{"Dhcp4": map[string]any{
		"interfaces-config": ifaces,
		"lease-database": map[string]any{"type": "memfile", "persist": true,
			"name": filepath.Join(dir, "kea-leases4.csv"), "lfc-interval": 0},
		"multi-threading": map[string]any{"enable-multi-threading": false},
		"valid-lifetime":  43200,
		"subnet4": []any{map[string]any{"id": 1, "subnet": subnet,
			"pools":        []any{map[string]any{"pool": poolStart + " - " + poolEnd}},
			"reservations": rs}},
		"loggers": []any{map[string]any{"name": "kea-dhcp4", "severity": "WARN",
			"output_options": []any{map[string]any{"output": filepath.Join(dir, "kea.log")}}}},
	}}
	return json.MarshalIndent(cfg, "", " ")
}

func startKea(dir string, reserved int) (*proc, error) {
	b, err := keaConfig(dir, reserved)
	if err != nil {
		return nil, err
	}
	return runKea(dir, b, "taskset", "-c", serverCPU)
}

// runKea writes the configuration b into dir and runs Kea with it behind
// the command prefix (taskset, ip netns exec).
func runKea(dir string, b []byte, prefix ...string) (*proc, error) {
	conf := filepath.Join(dir, "kea-dhcp4.json")
	if err := os.WriteFile(conf, b, 0o644); err != nil {
		return nil, err
	}
	os.Setenv("KEA_PIDFILE_DIR", dir)
	os.Setenv("KEA_LOCKFILE_DIR", dir)
	p, err := start("kea-dhcp4", filepath.Join(dir, "kea.out"), "", append(prefix, "kea-dhcp4", "-c", conf)...)
	if err != nil {
		return nil, err
	}
	// Kea has no readiness probe here; it opens its sockets within ~1 s.
	time.Sleep(1500 * time.Millisecond)
	if p.exited() {
		out, _ := os.ReadFile(filepath.Join(dir, "kea.out"))
		return nil, fmt.Errorf("kea-dhcp4 exited: %s", strings.TrimSpace(string(out)))
	}
	return p, nil
}

// dhcpRow is one line of the DHCP table.
type dhcpRow struct {
	system   string
	rate     int     // highest passing -r
	measured float64 // exchanges/s perfdhcp measured at that rate
	loss     float64
	limit    string // what ended the search (stepLimit)
}

// benchDHCP measures Kea and bootsrv, with a pool only and with
// reservations, and returns the rows (Kea first in each pair).
func (b *bench) benchDHCP(ctx context.Context) ([]dhcpRow, error) {
	var rows []dhcpRow
	for _, c := range []struct {
		key      string
		label    string
		reserved int
		mac      string
		clients  int
	}{
		{"pool", "dynamic pool", 0, "00:0d:00:00:00:00", b.dhcp.Clients},
		{"reservations", fmt.Sprintf("%d reservations", b.dhcp.Reserved), b.dhcp.Reserved, "00:0c:00:00:00:00", b.dhcp.Reserved},
		{"veth", "dynamic pool, veth broadcast", 0, "00:0e:00:00:00:00", b.dhcp.Clients},
	} {
		if !slices.Contains(strings.Split(b.dhcp.Cases, ","), c.key) {
			continue
		}
		target := perfTarget{storm.RelayAddr.String(), storm.ServerAddr.String()} // relayed on loopback
		ns := ""
		if c.key == "veth" {
			var cleanup func()
			var err error
			if ns, cleanup, err = vethNet(); err != nil {
				return rows, err
			}
			defer cleanup()
			target = perfTarget{iface: vethClient} // broadcast, no relay
		}
		for _, sys := range []string{"Kea 2.2 memfile", "bootsrv"} {
			dir, err := os.MkdirTemp(b.dir, "dhcp-")
			if err != nil {
				return rows, err
			}
			var p *proc
			name := sys + ", " + c.label
			b.logf("DHCP: %s", name)
			switch {
			case sys == "bootsrv" && ns != "":
				p, err = b.startVethBootsrv(ctx, dir, ns)
			case sys == "bootsrv":
				p, err = b.startBootsrv(ctx, dir, max(c.reserved, 1), "127.0.0.1:67", "0")
			case ns != "":
				p, err = startVethKea(dir, ns)
			default:
				p, err = startKea(dir, c.reserved)
			}
			if err != nil {
				return rows, err
			}
			var prof chan error
			if b.profile != "" && sys == "bootsrv" {
				prof = make(chan error, 1)
				go func() {
					time.Sleep(5 * time.Second) // past the warm-up
					prof <- fetchProfile(b.pprof, 10, filepath.Join(b.profile, "cpu-dhcp-"+strings.ReplaceAll(c.label, " ", "-")+".prof"))
				}()
			}
			best, limit, err := search(ctx, b.logf, target, c.mac, c.clients, b.dhcp, p.cmd.Process.Pid)
			if prof != nil {
				if perr := <-prof; perr != nil {
					b.logf("profile: %v", perr)
				}
			}
			p.stop()
			if err != nil {
				return rows, fmt.Errorf("%s: %w", name, err)
			}
			rows = append(rows, dhcpRow{system: name, rate: best.RateTarget, measured: best.Rate, loss: best.Loss(), limit: limit})
		}
	}
	return rows, nil
}
