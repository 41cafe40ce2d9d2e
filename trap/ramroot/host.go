package ramroot

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Host is what the ramroot steps need from the host beyond plan.Sys:
// reading files (/proc/self/mountinfo, /sys/block/zramN/..., the
// hot_add control), existence checks, removal, and unpacking a tar image.
//
// The agent's plan.Sys should implement it (hostsys.Sys does); test fakes
// implement it to record the calls. When env.Sys does not, the steps fall
// back to hostsys.Sys{}, i.e. the real host.
type Host interface {
	ReadFile(path string) ([]byte, error)
	// Exists reports whether path exists, without following a final
	// symlink (lstat).
	Exists(path string) bool
	// Remove removes a file or empty directory; a missing path is not an
	// error.
	Remove(path string) error
	// Unpack extracts a tar archive (format "tar" or "tar.zst") into dir,
	// keeping modes, owners, symlinks, hard links and device nodes.
	Unpack(ctx context.Context, archive, format, dir string) error
}

func host(env *plan.Env) Host {
	if h, ok := env.Sys.(Host); ok {
		return h
	}
	return hostsys.Sys{}
}

// Paths used by the plan (inside the trap's root; a step's Root field
// prefixes them in tests).
const (
	ImagePath = "/run/dt/image"
	LowerDir  = "/run/dt/lower"
	NewRoot   = "/sysroot"
)

// Mountinfo is one line of /proc/self/mountinfo (the fields we use).
type Mountinfo struct {
	MountPoint string
	FSType     string
	Source     string
}

// ParseMountinfo parses /proc/self/mountinfo. Lines it cannot parse are
// an error naming the line.
func ParseMountinfo(b []byte) ([]Mountinfo, error) {
	var out []Mountinfo
	for i, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		// id parent maj:min root mountpoint options [optional...] - fstype source superopts
		sep := -1
		for j := 6; j < len(f); j++ {
			if f[j] == "-" {
				sep = j
				break
			}
		}
		if len(f) < 7 || sep < 0 || sep+2 >= len(f) {
			return nil, fmt.Errorf("mountinfo line %d: malformed: %q", i+1, line)
		}
		out = append(out, Mountinfo{
			MountPoint: unescapeMount(f[4]),
			FSType:     f[sep+1],
			Source:     unescapeMount(f[sep+2]),
		})
	}
	return out, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// HostOf is env.Sys's Host side, or the real host (hostsys.Sys) when
// env.Sys does not implement Host.
func HostOf(env *plan.Env) Host { return host(env) }

// Mounted reports whether target is a mount point, reading
// /proc/self/mountinfo through the Host seam.
func Mounted(env *plan.Env, target string) (bool, error) { return mounted(env, target) }

// mounted reports whether target is a mount point, reading
// /proc/self/mountinfo through the Host seam.
func mounted(env *plan.Env, target string) (bool, error) {
	b, err := host(env).ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, fmt.Errorf("read mountinfo: %w", err)
	}
	mi, err := ParseMountinfo(b)
	if err != nil {
		return false, err
	}
	for _, m := range mi {
		if m.MountPoint == target {
			return true, nil
		}
	}
	return false, nil
}

// ParseSize parses a size: bytes, or a number with a K, M, G or T suffix
// (powers of 1024; an optional trailing "B" or "iB" is accepted).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	u := strings.ToUpper(t)
	u = strings.TrimSuffix(u, "IB")
	u = strings.TrimSuffix(u, "B")
	mult := int64(1)
	if n := len(u); n > 0 {
		switch u[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			u = u[:n-1]
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes or a K/M/G/T suffix", s)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n * mult, nil
}

// ParseZramDevice parses "3" or "zram3" into 3.
func ParseZramDevice(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "zram"))
	if err != nil || n < 0 || n > 1<<16 {
		return 0, fmt.Errorf("zram device %q: want N or zramN", s)
	}
	return n, nil
}

// ParseMode parses an octal file mode such as "0755"; "" is 0644.
func ParseMode(s string) (uint32, error) {
	if s == "" {
		return 0o644, nil
	}
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, fmt.Errorf("file mode %q: want octal, e.g. 0644", s)
	}
	return uint32(n), nil
}
