package manifest

import (
	"strconv"
	"strings"
)

// Image formats.
const (
	FormatSquashfs = "squashfs" // mounted read-only through a loop device: the overlays' lower layer
	FormatTar      = "tar"      // unpacked into the zram file system: a full RAM root
	FormatTarZstd  = "tar.zst"  // same as tar, zstd-compressed
)

// Image transports.
const (
	TransportHTTP    = "http"
	TransportTorrent = "torrent"
)

// Image is an OS image a stateless node boots.
type Image struct {
	Name string `json:"name"`
	// URL to fetch the image from. Default: Server + "/images/" + Name.
	URL string `json:"url,omitempty"`
	// SHA256 is the hex digest of the image file; the agent refuses an
	// image that does not match.
	SHA256 string `json:"sha256"`
	// Size in bytes (for progress; 0 = unknown).
	Size int64 `json:"size,omitempty"`
	// Format is FormatSquashfs (default), FormatTar or FormatTarZstd.
	Format string `json:"format,omitempty"`
	// Transport is TransportHTTP (default) or TransportTorrent.
	Transport string `json:"transport,omitempty"`
	// Torrent is set with TransportTorrent: how the node joins the swarm.
	Torrent *ImageTorrent `json:"torrent,omitempty"`
}

// ImageTorrent tells the agent where the image's .torrent is and how much
// bandwidth it may use while it downloads and seeds in the initramfs (it
// stops seeding right before switch_root).
type ImageTorrent struct {
	// URL of the .torrent file (its announce URL is bootsrv's tracker and
	// its url-list is the image's HTTP URL, the web seed).
	URL string `json:"url"`
	// InfoHash is the hex v1 info-hash; the agent refuses a .torrent with
	// another one.
	InfoHash string `json:"infohash,omitempty"`
	// UploadLimit and DownloadLimit cap the node's swarm traffic in bytes
	// per second; 0 means no cap.
	UploadLimit   int64 `json:"upload_limit,omitempty"`
	DownloadLimit int64 `json:"download_limit,omitempty"`
}

// Zram is one compressed RAM disk with a file system on it.
type Zram struct {
	// Device is the zram index or name: "0", "zram0". Default "zram<i>"
	// for the i-th entry.
	Device string `json:"device,omitempty"`
	// Size is the disk size: bytes, or with a K/M/G/T suffix (powers of
	// 1024), e.g. "1G". Default "1G".
	Size string `json:"size,omitempty"`
	// Algorithm is the compression algorithm written to comp_algorithm
	// (before disksize), e.g. "lzo-rle", "lz4", "zstd". Default "lzo-rle"
	// (available in every kernel that has zram).
	Algorithm string `json:"algorithm,omitempty"`
	// FS is "xfs" (default) or "ext4".
	FS string `json:"fs,omitempty"`
	// Mount is where the file system is mounted in the trap. Default
	// "/overlay" for the first entry; required for the others.
	Mount string `json:"mount,omitempty"`
}

// Sysroot is what the agent writes into the new root before switch_root.
type Sysroot struct {
	Files    []File    `json:"files,omitempty"`
	Symlinks []Symlink `json:"symlinks,omitempty"`
	// Enable and Disable list systemd units (e.g. "sshd.service") to
	// enable (wanted by multi-user.target) or disable.
	Enable  []string `json:"enable,omitempty"`
	Disable []string `json:"disable,omitempty"`
}

// File is a file written into the new root.
type File struct {
	Path    string `json:"path"` // absolute, inside the new root
	Content string `json:"content"`
	Mode    string `json:"mode,omitempty"` // octal, default "0644"
}

// Symlink is a symbolic link created in the new root.
type Symlink struct {
	Path   string `json:"path"`
	Target string `json:"target"`
}

// Defaults for mode ramroot.
const (
	DefaultInit          = "/sbin/init"
	DefaultZramSize      = "1G"
	DefaultZramAlgorithm = "lzo-rle"
	DefaultZramFS        = "xfs"
	DefaultZramMount     = "/overlay"
)

// DefaultOverlays are the mount points that get an overlay by default.
var DefaultOverlays = []string{"/", "/var"}

// RAMRootDefaults fills in the defaults of the stateless-boot fields, in
// place, and returns m:
//
//   - Image.URL: Server + "/images/" + Image.Name
//   - Image.Format: "squashfs"; Image.Transport: "http"
//   - Zram: one device when none is listed; per device: Device "zram<i>",
//     Size "1G", Algorithm "lzo-rle", FS "xfs", Mount "/overlay" (first only)
//   - Overlays: ["/", "/var"]
//   - Init: "/sbin/init"
//
// It never overwrites a value that is set. A nil m is returned as is.
func (m *Manifest) RAMRootDefaults() *Manifest {
	if m == nil {
		return m
	}
	if m.Image != nil {
		if m.Image.URL == "" && m.Image.Name != "" && m.Server != "" {
			m.Image.URL = strings.TrimSuffix(m.Server, "/") + "/images/" + m.Image.Name
		}
		if m.Image.Format == "" {
			m.Image.Format = FormatSquashfs
		}
		if m.Image.Transport == "" {
			m.Image.Transport = TransportHTTP
		}
	}
	if len(m.Zram) == 0 {
		m.Zram = []Zram{{}}
	}
	for i := range m.Zram {
		z := &m.Zram[i]
		if z.Device == "" {
			z.Device = "zram" + strconv.Itoa(i)
		}
		if z.Size == "" {
			z.Size = DefaultZramSize
		}
		if z.Algorithm == "" {
			z.Algorithm = DefaultZramAlgorithm
		}
		if z.FS == "" {
			z.FS = DefaultZramFS
		}
		if z.Mount == "" && i == 0 {
			z.Mount = DefaultZramMount
		}
	}
	if m.Overlays == nil {
		m.Overlays = append([]string(nil), DefaultOverlays...)
	}
	if m.Init == "" {
		m.Init = DefaultInit
	}
	return m
}
