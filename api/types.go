// Package api holds the admin API's request and response types, shared by
// bootsrv (server) and trapctl (client). The trap agent does not import it:
// its only contract with bootsrv is package manifest.
package api

import (
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Source says where a resolved attribute value came from (for --blame).
type Source struct {
	Kind string `json:"kind"`           // "node", "group" or "default"
	Name string `json:"name,omitempty"` // group name for Kind "group"
	Via  string `json:"via,omitempty"`  // for inherited groups: the chain, e.g. "compute>base"
	File string `json:"file,omitempty"` // inventory file
	Line int    `json:"line,omitempty"` // line in the inventory file
}

// Interface is a node's resolved network interface.
type Interface struct {
	Name    string `json:"name"`
	Network string `json:"network,omitempty"`
	MAC     string `json:"mac"`
	IP      string `json:"ip,omitempty"`
}

// Node is one resolved node.
type Node struct {
	Name       string            `json:"name"`
	Groups     []string          `json:"groups,omitempty"`
	Interfaces []Interface       `json:"interfaces,omitempty"`
	Attrs      map[string]any    `json:"attrs"`           // resolved attribute values by YAML key
	Blame      map[string]Source `json:"blame,omitempty"` // attribute key -> source (with ?blame=1)
}

// NodeEdit is the body of node add/set: a node name or range and the
// attribute values to write, by YAML key (as in cluster.yaml).
type NodeEdit struct {
	Name   string         `json:"name"`
	Fields map[string]any `json:"fields"`
}

// ModeSet is the body of POST /api/v1/mode.
type ModeSet struct {
	Range string        `json:"range"`
	Mode  manifest.Mode `json:"mode"`
	Once  bool          `json:"once,omitempty"` // next boot only
}

// ModeSetResult answers a ModeSet.
type ModeSetResult struct {
	Count int `json:"count"`
}

// Status is one row of `trapctl status`.
type Status struct {
	Node      string        `json:"node"`
	Mode      manifest.Mode `json:"mode"`
	Once      bool          `json:"once,omitempty"`
	Phase     string        `json:"phase,omitempty"`
	LastEvent string        `json:"last_event,omitempty"`
	LastSeen  time.Time     `json:"last_seen,omitzero"`
	Address   string        `json:"address,omitempty"`
}

// Image is one OS image in bootsrv's registry (GET /api/v1/images,
// GET /api/v1/images/{name}, and the answer of PUT /api/v1/images/{name}).
type Image struct {
	Name    string    `json:"name"`
	Format  string    `json:"format"` // manifest.FormatSquashfs, FormatTar, FormatTarZstd
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
	Files   int       `json:"files,omitempty"`  // entries packed (0: unknown)
	Source  string    `json:"source,omitempty"` // free-form note: where it was packed from
	// Profile is the resolved profile a built image came from.
	Profile *ImageProfile `json:"profile,omitempty"`
	// URL is where nodes fetch the image: BASE/images/NAME.
	URL string `json:"url"`
	// UsedBy is the compact range of the nodes whose image attribute
	// names this image ("cn[001-064]"); empty when none.
	UsedBy string `json:"used_by,omitempty"`
	// InfoHash (hex) and Torrent (BASE/images/NAME.torrent) are set when
	// bootsrv seeds the image over BitTorrent; PieceLength is the
	// torrent's piece size, chosen from the image size.
	InfoHash    string `json:"infohash,omitempty"`
	Torrent     string `json:"torrent,omitempty"`
	PieceLength int64  `json:"piece_length,omitempty"`
}

// ImageSwarm is GET /api/v1/images/{name}/swarm: the image's BitTorrent
// swarm as bootsrv sees it (`trapctl image swarm NAME`).
type ImageSwarm struct {
	Image       string      `json:"image"`
	InfoHash    string      `json:"infohash"`
	Size        int64       `json:"size"`
	PieceLength int64       `json:"piece_length"`
	Pieces      int         `json:"pieces"`
	Seeder      SwarmSeeder `json:"seeder"`
	// Nodes are the nodes whose image attribute names the image and the
	// peers the tracker lists, sorted by name (unknown addresses last).
	Nodes []SwarmNode `json:"nodes"`
}

// SwarmSeeder is bootsrv's own part in a swarm.
type SwarmSeeder struct {
	Addr    string `json:"addr"`    // peer-wire address
	Running bool   `json:"running"` // false while the seeder is stopped
	Peers   int    `json:"peers"`   // connected peers now
	// Uploaded is the peer-wire payload sent; WebSeed the bytes served as
	// the web seed (Range requests on /images/NAME).
	Uploaded int64 `json:"uploaded"`
	WebSeed  int64 `json:"web_seed"`
	// UploadLimit is the --seed-rate cap in bytes/s (0: none), shared by
	// the seeder and the web seed.
	UploadLimit int64 `json:"upload_limit,omitempty"`
	Completed   int   `json:"completed"` // "completed" announces since bootsrv started
}

// SwarmNode is one node's state in a swarm: from its last progress event
// for the image and from the tracker.
type SwarmNode struct {
	Node    string `json:"node,omitempty"` // "" for an address not in the inventory
	Address string `json:"address,omitempty"`
	// State: "downloading", "seeding", "stopped" (left the initramfs),
	// "announced" (only the tracker knows it), or "" (no sign yet).
	State      string    `json:"state,omitempty"`
	Percent    int       `json:"percent"`
	Downloaded int64     `json:"downloaded"`
	Uploaded   int64     `json:"uploaded"`
	FromWeb    int64     `json:"from_web,omitempty"`
	Peers      int       `json:"peers"`
	BadPieces  int64     `json:"bad_pieces,omitempty"`
	Tracker    bool      `json:"tracker"` // listed by the tracker now
	LastSeen   time.Time `json:"last_seen,omitzero"`
}

// Image upload query parameters of PUT /api/v1/images/{name}; the body is
// the image file itself (streamed, Content-Length = its size).
const (
	ImageParamFormat  = "format"  // required: squashfs, tar, tar.zst
	ImageParamSHA256  = "sha256"  // required: hex digest the upload must match
	ImageParamFiles   = "files"   // optional: entries packed
	ImageParamSource  = "source"  // optional: where it was packed from
	ImageParamReplace = "replace" // 1: replace an existing image of that name
	ImageParamForce   = "force"   // DELETE: 1 deletes an image nodes still use
	ImageParamProfile = "profile" // optional: the resolved profile (JSON api.ImageProfile) of a built image
)

// Error is the JSON body of every non-2xx API answer.
type Error struct {
	Error string `json:"error"`
}

// NodeInventory is a node's latest hardware report (GET
// /api/v1/nodes/{name}/inventory; `trapctl node inventory`).
type NodeInventory struct {
	Node     string            `json:"node"`
	Time     time.Time         `json:"time"`
	Hardware manifest.Hardware `json:"hardware"`
}

// ImageProfile is the resolved profile an image was built from (`trapctl
// image build`), kept in the image's record: the chain in application
// order and what it resolved to. bootsrv lists the Postscripts (names of
// scripts in the image's /usr/lib/dt/postscripts) in the manifests of the
// nodes booting the image.
type ImageProfile struct {
	Name        string   `json:"name"`
	Chain       []string `json:"chain"`
	Suite       string   `json:"suite"`
	Mirror      string   `json:"mirror"`
	Variant     string   `json:"variant,omitempty"`
	Diskful     bool     `json:"diskful,omitempty"` // a kernel, its initramfs and grub: installable (mode install)
	Kernel      string   `json:"kernel,omitempty"`  // the kernel package of a diskful image
	Packages    []string `json:"packages,omitempty"`
	Exclude     []string `json:"exclude,omitempty"`
	Files       []string `json:"files,omitempty"`       // "DEST MODE OWNER (PROFILE)"
	Postinstall []string `json:"postinstall,omitempty"` // "PROFILE/SCRIPT", in build order
	Postscripts []string `json:"postscripts,omitempty"` // script names, in run order
}
