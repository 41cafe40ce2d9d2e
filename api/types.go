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
	// URL is where nodes fetch the image: BASE/images/NAME.
	URL string `json:"url"`
	// UsedBy is the compact range of the nodes whose image attribute
	// names this image ("cn[001-064]"); empty when none.
	UsedBy string `json:"used_by,omitempty"`
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
)

// Error is the JSON body of every non-2xx API answer.
type Error struct {
	Error string `json:"error"`
}
