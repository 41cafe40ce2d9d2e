// Package report is the line protocol between the trap-torrent helper
// (cmd/trap-torrent, which links the BitTorrent library) and the agent's
// image fetch step (trap/ramroot, which does not): the helper writes one
// JSON Line per line on its standard output. It depends on the standard
// library only, so importing it keeps the agent small.
package report

import (
	"encoding/json"
	"fmt"
)

// Progress is a snapshot of a download (and, after it, of the seeding).
type Progress struct {
	Total      int64   `json:"total"`      // image size
	Completed  int64   `json:"completed"`  // verified bytes
	Downloaded int64   `json:"downloaded"` // useful payload received (peers + web seed)
	FromPeers  int64   `json:"from_peers"`
	FromWeb    int64   `json:"from_web"`
	Uploaded   int64   `json:"uploaded"` // payload sent to peers
	Peers      int     `json:"peers"`    // connected peers
	Seeders    int     `json:"seeders"`  // connected peers that have everything
	BadPieces  int64   `json:"bad_pieces"`
	Percent    float64 `json:"percent"`
	WebSeeding bool    `json:"web_seeding"` // web seed fallback is active
	Done       bool    `json:"done"`
}

// Events of a Line, in the order a helper writes them.
const (
	EventProgress = "progress" // downloading
	EventDone     = "done"     // every piece verified (and the SHA-256); seeding starts
	EventSeeding  = "seeding"  // still seeding (periodic)
	EventStopped  = "stopped"  // seeding ended (SIGTERM or --seed-for); the helper exits 0
	EventError    = "error"    // the download failed; the helper exits non-zero
)

// Line is one line of the helper's output.
type Line struct {
	Event    string   `json:"event"`
	Progress Progress `json:"progress"`
	// With EventDone:
	Path      string   `json:"path,omitempty"`
	InfoHash  string   `json:"infohash,omitempty"`
	SHA256    string   `json:"sha256,omitempty"`
	ElapsedMS int64    `json:"elapsed_ms,omitempty"`
	Banned    []string `json:"banned,omitempty"` // peer IPs banned for bad data
	// With EventError:
	Error string `json:"error,omitempty"`
}

// Parse decodes one output line.
func Parse(b []byte) (Line, error) {
	var l Line
	if err := json.Unmarshal(b, &l); err != nil {
		return l, fmt.Errorf("helper output %.80q: %w", b, err)
	}
	switch l.Event {
	case EventProgress, EventDone, EventSeeding, EventStopped, EventError:
	default:
		return l, fmt.Errorf("helper output: unknown event %q", l.Event)
	}
	return l, nil
}

// Marshal encodes l as one line (with the trailing newline).
func (l Line) Marshal() []byte {
	b, _ := json.Marshal(l) // only plain fields: cannot fail
	return append(b, '\n')
}
