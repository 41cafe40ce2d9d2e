package manifest

import (
	"fmt"
	"net/netip"
	"path"
	"strings"
)

// Statelite is mode statelite's description (the xCAT statelite model):
// one read-only image shared by every node, and a short list of paths
// (Files, the litefile rules of the node's image) each node gets writable
// (reset every boot), concatenated from the sources, kept on the node's
// persistent store, or bound read-only from a source.
//
// The root is the registry image (Manifest.Image, fetched as in mode
// ramroot) or, when Root is set, an NFS export mounted read-only.
type Statelite struct {
	// Root is the NFS export ("ADDR:/PATH") holding the image root; empty:
	// the registry image in Manifest.Image.
	Root string `json:"root,omitempty"`
	// Files are the litefile rules that apply to this node's image, by
	// path (per-image rules replace all-images rules of the same path).
	Files []LiteFile `json:"files"`
	// Tree are the litetree sources (NFS exports "ADDR:/PATH"), highest
	// priority first, already templated for this node.
	Tree []string `json:"tree,omitempty"`
	// Store is the persistent store (an NFS export); the agent keeps the
	// node's files in STORE/<node>/. Needed by persistent rules.
	Store string `json:"store,omitempty"`
}

// LiteFile is one litefile rule.
type LiteFile struct {
	// Path is absolute and clean; a folder ends in "/".
	Path string `json:"path"`
	// Option is one of LiteOptions.
	Option string `json:"option"`
}

// The litefile options.
const (
	LiteTmpfs         = "tmpfs"          // a private writable copy, reset every boot (default)
	LiteCon           = "con"            // the concatenation of the file from every litetree source
	LitePersistent    = "persistent"     // on the persistent store: copied in once, kept afterwards
	LitePersistentCon = "persistent,con" // persistent, first created as the concatenation
	LiteRO            = "ro"             // bound read-only from its source
)

// LiteOptions lists the litefile options in documentation order.
var LiteOptions = []string{LiteTmpfs, LiteCon, LitePersistent, LitePersistentCon, LiteRO}

// ParseLiteOption normalizes a litefile option: "" is tmpfs, spaces
// around the comma are dropped, "con,persistent" is "persistent,con".
func ParseLiteOption(s string) (string, error) {
	parts := strings.Split(s, ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	norm := strings.Join(parts, ",")
	switch norm {
	case "", LiteTmpfs:
		return LiteTmpfs, nil
	case "con,persistent":
		return LitePersistentCon, nil
	}
	for _, o := range LiteOptions {
		if norm == o {
			return o, nil
		}
	}
	return "", fmt.Errorf("option %q: want one of %s", s, strings.Join(LiteOptions, ", "))
}

// IsFolder reports whether the rule's path is a folder (trailing "/").
func (f LiteFile) IsFolder() bool { return strings.HasSuffix(f.Path, "/") && f.Path != "/" }

// Persistent reports whether the rule keeps its data on the store.
func (f LiteFile) Persistent() bool {
	return f.Option == LitePersistent || f.Option == LitePersistentCon
}

// Concatenated reports whether the rule's content is the concatenation
// of every source.
func (f LiteFile) Concatenated() bool { return f.Option == LiteCon || f.Option == LitePersistentCon }

// CheckLitePath accepts an absolute, clean path other than "/" (a folder
// ends in "/"), without control characters, spaces or backslashes, that
// does not reach into /.statelite or /.default.
func CheckLitePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("path %q: want an absolute path (a folder ends in /)", p)
	}
	trimmed := strings.TrimSuffix(p, "/")
	if trimmed == "" {
		return fmt.Errorf("path %q: the root itself cannot be a litefile", p)
	}
	if path.Clean(trimmed) != trimmed {
		return fmt.Errorf("path %q: not clean (no //, . or .. elements)", p)
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == ' ' || r == '\\' {
			return fmt.Errorf("path %q: contains a space, backslash or control character", p)
		}
	}
	for _, reserved := range []string{"/.statelite", "/.default"} {
		if trimmed == reserved || strings.HasPrefix(trimmed, reserved+"/") {
			return fmt.Errorf("path %q: %s is statelite's own", p, reserved)
		}
	}
	return nil
}

// ParseExport parses an NFS export "ADDR:/PATH" (ADDR an IP address; an
// IPv6 address in brackets). The agent mounts it with NFSv4.
func ParseExport(s string) (netip.Addr, string, error) {
	host, p, ok := strings.Cut(s, ":/")
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]:/")
		if end < 0 {
			return netip.Addr{}, "", fmt.Errorf("export %q: want ADDR:/PATH", s)
		}
		host, p, ok = s[1:end], s[end+3:], true
	}
	if !ok {
		return netip.Addr{}, "", fmt.Errorf("export %q: want ADDR:/PATH (an NFS export)", s)
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, "", fmt.Errorf("export %q: server %q: want an IP address", s, host)
	}
	p = "/" + p
	if path.Clean(p) != p || strings.ContainsAny(p, " ,\\\n\t") {
		return netip.Addr{}, "", fmt.Errorf("export %q: path %q: want a clean path without spaces or commas", s, p)
	}
	return a, p, nil
}

// Validate checks a statelite description: every path and option, every
// export, no path twice, no path inside a folder rule, a store when a rule
// is persistent.
func (s *Statelite) Validate() error {
	if s.Root != "" {
		if _, _, err := ParseExport(s.Root); err != nil {
			return fmt.Errorf("statelite: root: %w", err)
		}
	}
	for i, t := range s.Tree {
		if _, _, err := ParseExport(t); err != nil {
			return fmt.Errorf("statelite: litetree source %d: %w", i+1, err)
		}
	}
	if s.Store != "" {
		if _, _, err := ParseExport(s.Store); err != nil {
			return fmt.Errorf("statelite: store: %w", err)
		}
	}
	seen := map[string]bool{}
	for _, f := range s.Files {
		if err := CheckLitePath(f.Path); err != nil {
			return fmt.Errorf("statelite: litefile: %w", err)
		}
		if o, err := ParseLiteOption(f.Option); err != nil || o != f.Option {
			return fmt.Errorf("statelite: litefile %s: option %q: want one of %s", f.Path, f.Option, strings.Join(LiteOptions, ", "))
		}
		if f.IsFolder() && f.Concatenated() {
			return fmt.Errorf("statelite: litefile %s: option %s applies to files, not folders", f.Path, f.Option)
		}
		if f.Persistent() && s.Store == "" {
			return fmt.Errorf("statelite: litefile %s is %s but the node has no persistent store (statelite attribute)", f.Path, f.Option)
		}
		key := strings.TrimSuffix(f.Path, "/")
		if seen[key] {
			return fmt.Errorf("statelite: litefile %s: listed twice", f.Path)
		}
		seen[key] = true
	}
	if inner, outer, ok := NestedLitePaths(s.Files); ok {
		return fmt.Errorf("statelite: litefile %s is inside folder rule %s (one rule per tree)", inner, outer)
	}
	return nil
}

// NestedLitePaths finds a rule inside a folder rule.
func NestedLitePaths(files []LiteFile) (inner, outer string, found bool) {
	for _, o := range files {
		if !o.IsFolder() {
			continue
		}
		for _, f := range files {
			if f.Path != o.Path && strings.HasPrefix(f.Path, o.Path) {
				return f.Path, o.Path, true
			}
		}
	}
	return "", "", false
}
