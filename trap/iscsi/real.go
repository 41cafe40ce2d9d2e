package iscsi

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/anatol/luks.go"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/dmmap"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Real is the node's Storage: sysfs, device-mapper ioctls, luks.go,
// bootsrv's secret endpoint.
type Real struct{}

// Paths implements Storage: the sd disks under
// /sys/class/iscsi_session/session*/device/target*/H:C:T:LUN/block/.
func (Real) Paths(target string, lun int) ([]Path, error) {
	sessions, _ := filepath.Glob("/sys/class/iscsi_session/session*")
	var out []Path
	for _, s := range sessions {
		name, err := os.ReadFile(s + "/targetname")
		if err != nil || strings.TrimSpace(string(name)) != target {
			continue
		}
		blocks, _ := filepath.Glob(fmt.Sprintf("%s/device/target*/*:*:*:%d/block/*", s, lun))
		for _, b := range blocks {
			disk := filepath.Base(b)
			dev, err := os.ReadFile("/sys/block/" + disk + "/dev")
			if err != nil {
				continue
			}
			portal := ""
			if conns, _ := filepath.Glob(s + "/device/connection*/iscsi_connection/connection*"); len(conns) > 0 {
				a, _ := os.ReadFile(conns[0] + "/persistent_address")
				p, _ := os.ReadFile(conns[0] + "/persistent_port")
				portal = strings.TrimSpace(string(a)) + ":" + strings.TrimSpace(string(p))
			}
			out = append(out, Path{Disk: disk, Devno: strings.TrimSpace(string(dev)), Portal: portal})
		}
	}
	return out, nil
}

// ReadFile implements Storage.
func (Real) ReadFile(p string) ([]byte, error) { return os.ReadFile(p) }

// DMCreate implements Storage.
func (Real) DMCreate(name, uuid string, ro bool, ts []dmmap.Target) error {
	return dmmap.Create(name, uuid, ro, ts...)
}

// DMDevno implements Storage.
func (Real) DMDevno(name string) (string, error) { return dmmap.Devno(name) }

// LUKSOpen implements Storage: every key slot in priority order.
func (Real) LUKSOpen(dev string, pass []byte, name string) error {
	defer zero(pass)
	d, err := luks.Open(dev)
	if err != nil {
		return err
	}
	defer d.Close()
	var last error = fmt.Errorf("no key slots")
	for _, slot := range d.Slots() {
		// Unlock zeroes the volume key it recovers (UnlockAny does not).
		if last = d.Unlock(slot, pass, name); last == nil {
			return nil
		}
	}
	return last
}

// Partitions implements Storage.
func (Real) Partitions(dev string) ([]Partition, error) {
	f, err := os.Open(dev)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := gpt.Read(f, 512, 512)
	if err != nil {
		return nil, err
	}
	var out []Partition
	for i, p := range t.Partitions {
		if p.Start == 0 || p.End < p.Start {
			continue
		}
		out = append(out, Partition{Number: i + 1, Start: p.Start, Length: p.End - p.Start + 1})
	}
	return out, nil
}

// Secret implements Storage: a pull from bootsrv's TLS secret endpoint
// (manifest.SecretServer) trusting only the certificate pinned at
// PinnedCertPath (see Puller). Never plain HTTP. The value is never
// logged.
func (Real) Secret(ctx context.Context, env *plan.Env, name string) ([]byte, error) {
	v, err := pullFromManifest(ctx, env.Manifest, PinnedCertPath, name, nil, env.Sign)
	if err == nil && env.Report != nil {
		// bootsrv recorded the release; this says the node got it.
		env.Report(manifest.Event{Phase: manifest.PhaseSecretReceived, Message: "secret " + name, Data: map[string]string{"name": name}})
	}
	return v, err
}

// pullFromManifest pulls name as m's node from m.SecretServer with the
// certificate in file pinned, dialing with d (nil: the default).
func pullFromManifest(ctx context.Context, m *manifest.Manifest, file, name string, d *net.Dialer, sign func(*http.Request, []byte)) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("secret %s: no manifest", name)
	}
	if m.SecretServer == "" {
		return nil, fmt.Errorf("secret %s: bootsrv offers no secret pull to node %s (no secret_server in the manifest: bootsrv runs without --tls-listen or --secrets-pull, or the node is not in mode iscsi); push it over SSH: trapctl secret push %s %s FILE (LUKS: trapctl luks push %s IMAGE)", name, m.Node, m.Node, name, m.Node)
	}
	pin, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret %s: no pinned bootsrv certificate in the initramfs (%s); push it over SSH: trapctl secret push %s %s FILE (LUKS: trapctl luks push %s IMAGE), or rebuild the image with trapctl initrd build -bootsrv-cert", name, file, m.Node, name, m.Node)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s: pinned bootsrv certificate: %w", name, err)
	}
	p := &Puller{Server: m.SecretServer, Pinned: pin, Dialer: d, Sign: sign}
	return p.Pull(ctx, m.Node, name)
}

// StartChecker implements Storage: the checker runs until the agent
// execs the new init (switch_root); after that the booted OS's multipathd
// must take over.
func (Real) StartChecker(name string) {
	c := &dmmap.Checker{Map: name, Interval: 5 * time.Second}
	go c.Run(context.Background())
}
