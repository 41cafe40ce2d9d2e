package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/initrd"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/tools/lab"
	"github.com/disklesstrap/disklesstrap/tools/labcluster"
)

// torrentPad is random (incompressible) padding added to the test OS so
// the image has enough pieces (24 MiB = 96 pieces of 256 KiB) to flow
// between the nodes; torrentSeedRate caps bootsrv's seeder and web seed
// together so the nodes have to share.
const (
	torrentPad      = 24 << 20
	torrentSeedRate = 2 << 20
)

// TestTorrentRAMRoot: three BIOS nodes boot the test OS in mode ramroot
// with transport=torrent at the same time. Each reaches the OS marker,
// each reports having uploaded pieces to the others while it was in the
// initramfs (and stopped seeding at switch_root), `trapctl image swarm`
// lists all three, and bootsrv sent at most 1.5x the image for the three
// (3x is what three nodes without sharing fetch; bootsrv super-seeds, so
// each piece should leave it about once, as the super-seeding unit test
// asserts).
func TestTorrentRAMRoot(t *testing.T) {
	requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	dir := t.TempDir()
	trapInitrd, err := labcluster.BuildInitrdWith(ctx, filepath.Join(dir, "trap-torrent.cpio.gz"), []string{initrd.TorrentHelper})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []labcluster.Node{
		{Name: "cn011", MAC: "52:54:00:18:00:11", IP: "198.18.0.21", Firmware: lab.BIOS},
		{Name: "cn012", MAC: "52:54:00:18:00:12", IP: "198.18.0.22", Firmware: lab.BIOS},
		{Name: "cn013", MAC: "52:54:00:18:00:13", IP: "198.18.0.23", Firmware: lab.BIOS},
	}
	c, err := labcluster.Start(ctx, t, labcluster.Options{
		Initrd:      trapInitrd,
		Nodes:       nodes,
		BootsrvArgs: []string{"--seed-rate", strconv.Itoa(torrentSeedRate)},
	})
	if err != nil {
		t.Fatal(err)
	}
	root, _ := labcluster.RepoRoot()
	osDir := filepath.Join(c.Dir, "testos")
	if out, err := exec.CommandContext(ctx, filepath.Join(root, "images/testos/build.sh"), osDir).CombinedOutput(); err != nil {
		t.Fatalf("images/testos/build.sh: %v\n%s", err, out)
	}
	pad := make([]byte, torrentPad)
	rand.Read(pad)
	if err := os.WriteFile(filepath.Join(osDir, "pad.bin"), pad, 0o644); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(c.Dir, "testos.squashfs")
	out, err := c.Trapctl(ctx, "image", "pack", osDir, "--name", "testos", "--output", keep)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trapctl image pack: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "seeded over BitTorrent: infohash ") {
		t.Errorf("image pack does not report the torrent:\n%s", out)
	}
	if _, err := os.Stat(keep + ".torrent"); err != nil {
		t.Errorf("image pack --output wrote no .torrent: %v", err)
	}
	img, err := c.API.Image(ctx, "testos")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Trapctl(ctx, "node", "set", "cn[011-013]", "image=testos", "mode=ramroot", "transport=torrent"); err != nil {
		t.Fatal(err)
	}
	m, err := c.API.Manifest(ctx, "cn011")
	if err != nil || m.Image == nil || m.Image.Transport != manifest.TransportTorrent || m.Image.Torrent == nil {
		t.Fatalf("cn011 manifest image = %+v, %v; want transport torrent", m.Image, err)
	}

	booted := map[string]*lab.Node{}
	for _, n := range nodes {
		node, err := c.Boot(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		booted[n.Name] = node
	}
	var wg sync.WaitGroup
	for name, node := range booted {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := node.WaitConsole(ctx, "DT-OS-BOOTED "+name, 6*time.Minute); err != nil {
				t.Errorf("%s: %v", name, err)
				return
			}
			t.Logf("TIMING %s: power-on to test OS marker over torrent %.1fs", name, node.Elapsed().Seconds())
		}()
	}
	// Meanwhile trapctl status shows the download progress.
	sawProgress := make(chan string, 1)
	go func() {
		for ctx.Err() == nil {
			out, _ := c.Trapctl(ctx, "status", "cn[011-013]")
			if strings.Contains(out, "image ") && strings.Contains(out, "% ") && strings.Contains(out, " peers ") {
				sawProgress <- out
				return
			}
			time.Sleep(time.Second)
		}
	}()
	wg.Wait()
	if t.Failed() {
		return
	}
	select {
	case out := <-sawProgress:
		t.Logf("trapctl status during the download:\n%s", out)
	case <-time.After(5 * time.Second):
		t.Errorf("trapctl status never showed a torrent progress line (image N%% P peers ...)")
	}
	for _, n := range nodes {
		waitPhase(ctx, t, c, n.Name, "os-booted")
	}

	// Every node uploaded to the others, and stopped seeding before it
	// left the initramfs.
	for _, n := range nodes {
		evs, err := c.API.Events(ctx, n.Name, 500)
		if err != nil {
			t.Fatal(err)
		}
		var up, fromPeers, fromWeb int64
		stopped, switched := -1, -1
		for i, ev := range evs {
			if ev.Phase == manifest.PhaseSwitchRoot && switched < 0 {
				switched = i
			}
			if ev.Phase != manifest.PhaseProgress || ev.Data["transport"] != manifest.TransportTorrent {
				continue
			}
			up = max(up, atoi64(ev.Data["up"]))
			fromPeers = max(fromPeers, atoi64(ev.Data["from_peers"]))
			fromWeb = max(fromWeb, atoi64(ev.Data["from_web"]))
			if ev.Data["state"] == "stopped" && stopped < 0 {
				stopped = i
			}
		}
		t.Logf("%s: uploaded %d bytes to peers, got %d from peers (seeder included) and %d from the web seed", n.Name, up, fromPeers, fromWeb)
		if up == 0 {
			t.Errorf("%s reports no upload to the other nodes", n.Name)
		}
		if stopped < 0 || switched < 0 || stopped > switched {
			t.Errorf("%s: seeding stopped at event %d, switch-root at %d: want stopped before switch-root", n.Name, stopped, switched)
		}
	}

	// The swarm as trapctl shows it, and the seeder's share.
	out, err = c.Trapctl(ctx, "image", "swarm", "testos")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trapctl image swarm testos:\n%s", out)
	for _, n := range nodes {
		if !lineHas(out, n.Name, "stopped") {
			t.Errorf("trapctl image swarm: %s not listed as stopped", n.Name)
		}
	}
	js, err := c.Trapctl(ctx, "-o", "json", "image", "swarm", "testos")
	if err != nil {
		t.Fatal(err)
	}
	var s api.ImageSwarm
	if err := json.Unmarshal([]byte(js), &s); err != nil {
		t.Fatalf("image swarm json: %v\n%s", err, js)
	}
	sent := s.Seeder.Uploaded + s.Seeder.WebSeed
	t.Logf("FIGURE image %d bytes; bootsrv sent %d (seeder %d + web seed %d) = %.2fx the image for 3 nodes",
		img.Size, sent, s.Seeder.Uploaded, s.Seeder.WebSeed, float64(sent)/float64(img.Size))
	if limit := img.Size * 3 / 2; sent > limit {
		t.Errorf("bootsrv sent %d bytes (%.2fx the image), want <= 1.5x (%d): the nodes did not share", sent, float64(sent)/float64(img.Size), limit)
	}
	if sent == 0 {
		t.Errorf("bootsrv's seeder and web seed sent nothing: where did the image come from?")
	}
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
