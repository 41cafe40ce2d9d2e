package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/api"
)

var imageSwarm = &command{
	name: "image swarm", args: "NAME", summary: "show an image's BitTorrent swarm: every node's state and the seeder's upload",
	help: "Nodes are those whose image attribute names NAME and any peer bootsrv's tracker lists. STATE is the node's\n" +
		"last progress report (downloading, seeding, stopped = left the initramfs) or \"announced\" when only the\n" +
		"tracker knows it. UP is what the node sent to other nodes.",
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		s, err := e.client().ImageSwarm(e.ctx, args[0])
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, s)
		}
		return writeSwarm(e, s)
	},
}

func writeSwarm(e *env, s api.ImageSwarm) error {
	sd := s.Seeder
	state := "running"
	if !sd.Running {
		state = "stopped"
	}
	limit := "no cap"
	if sd.UploadLimit > 0 {
		limit = "cap " + humanBytes(sd.UploadLimit) + "/s"
	}
	printf(e.stdout, "image %s: %s, %d pieces of %s, infohash %s\n", s.Image, humanBytes(s.Size), s.Pieces, humanBytes(s.PieceLength), s.InfoHash)
	printf(e.stdout, "seeder %s (%s, %s): %d peers, uploaded %s (%s), web seed %s, %d completed\n",
		sd.Addr, state, limit, sd.Peers, humanBytes(sd.Uploaded), timesImage(sd.Uploaded, s.Size), humanBytes(sd.WebSeed), sd.Completed)
	t := newTable(e.stdout, "NODE", "STATE", "PERCENT", "DOWN", "UP", "WEB", "PEERS", "TRACKER", "LAST-SEEN")
	now := e.now()
	for _, n := range s.Nodes {
		name := n.Node
		if name == "" {
			name = n.Address + " (not in the inventory)"
		}
		st := n.State
		if st == "" {
			st = "-"
		}
		tracker := "-"
		if n.Tracker {
			tracker = n.Address
		}
		t.row(name, st, strconv.Itoa(n.Percent)+"%", humanBytes(n.Downloaded), humanBytes(n.Uploaded),
			humanBytes(n.FromWeb), strconv.Itoa(n.Peers), tracker, age(now, n.LastSeen))
	}
	return t.flush()
}

// timesImage is n as a multiple of the image size: "1.4x image".
func timesImage(n, size int64) string {
	if size <= 0 {
		return "-"
	}
	return strconv.FormatFloat(float64(n)/float64(size), 'f', 1, 64) + "x image"
}

// shortEvent shortens a torrent progress summary for the status table:
// "progress image fetch: 45% 3 peers ..." -> "image 45% 3 peers ...".
func shortEvent(s string) string {
	if rest, ok := strings.CutPrefix(s, "progress image fetch: "); ok {
		return "image " + rest
	}
	return s
}

// writeTorrent saves an image's .torrent (as nodes get it) to path.
func writeTorrent(e *env, name, path string) error {
	b, err := e.client().ImageTorrent(e.ctx, name)
	if err != nil {
		return fmt.Errorf("image %s: .torrent: %w", name, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("image %s: %w", name, err)
	}
	_, err = printf(e.stdout, "wrote %s\n", path)
	return err
}
