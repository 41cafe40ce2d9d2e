package dmmap

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/anatol/devmapper.go"
	"golang.org/x/sys/unix"
)

// MultipathTarget is the dm-multipath table over paths (MAJ:MIN strings),
// all in one round-robin priority group (active/active iSCSI portals):
//
//	0 SIZE multipath 1 queue_if_no_path 0 1 1 round-robin 0 N 1 P1 1 P2 1 ...
//
// Round-robin rather than multipathd's service-time: every path carries
// I/O, so a dead one is failed by the kernel at the next request instead of
// sitting idle and unnoticed (in the initramfs and a multipathd-less OS
// there is no checker probing healthy-looking paths).
//
// queue_if_no_path (no_path_retry queue) makes I/O wait, not fail, while
// every path is down.
func MultipathTarget(sectors uint64, paths []string, queueIfNoPath bool) (Target, error) {
	if len(paths) == 0 {
		return Target{}, fmt.Errorf("multipath: no paths")
	}
	features := "0"
	if queueIfNoPath {
		features = "1 queue_if_no_path"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s 0 1 1 round-robin 0 %d 1", features, len(paths))
	for _, p := range paths {
		if _, _, err := ParseDevno(p); err != nil {
			return Target{}, fmt.Errorf("multipath: %w", err)
		}
		fmt.Fprintf(&b, " %s 1", p)
	}
	return Target{Start: 0, Length: sectors, Type: "multipath", Params: b.String()}, nil
}

// LinearTarget maps length sectors of dev (MAJ:MIN or a path) from offset.
func LinearTarget(length uint64, dev string, offset uint64) Target {
	return Target{Length: length, Type: "linear", Params: fmt.Sprintf("%s %d", dev, offset)}
}

// ParseDevno parses "MAJ:MIN".
func ParseDevno(s string) (uint32, uint32, error) {
	a, b, ok := strings.Cut(s, ":")
	ma, err1 := strconv.ParseUint(a, 10, 32)
	mi, err2 := strconv.ParseUint(b, 10, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("device number %q: want MAJ:MIN", s)
	}
	return uint32(ma), uint32(mi), nil
}

// MultipathUUID is the DM UUID multipath-tools give a map: "mpath-" + WWID.
func MultipathUUID(wwid string) string { return "mpath-" + wwid }

// Create creates name with uuid, loads targets and resumes it (the device
// is usable afterwards as /dev/dm-N; there is no udev for /dev/mapper).
// A device that exists already is left alone (idempotent steps).
func Create(name, uuid string, readOnly bool, targets ...Target) error {
	if _, err := devmapper.InfoByName(name); err == nil {
		return nil
	}
	if err := devmapper.Create(name, uuid); err != nil {
		return fmt.Errorf("dm create %s: %w", name, err)
	}
	if err := Load(name, readOnly, targets...); err != nil {
		_ = devmapper.Remove(name)
		return err
	}
	if err := devmapper.Resume(name); err != nil {
		_ = devmapper.Remove(name)
		return fmt.Errorf("dm resume %s: %w", name, err)
	}
	return nil
}

// Devno returns name's device number as "MAJ:MIN" (its node is /dev/dm-MIN
// when device-mapper's major is dynamic, which it always is).
func Devno(name string) (string, error) {
	info, err := devmapper.InfoByName(name)
	if err != nil {
		return "", fmt.Errorf("dm info %s: %w", name, err)
	}
	return fmt.Sprintf("%d:%d", unix.Major(info.DevNo), unix.Minor(info.DevNo)), nil
}

// Message sends a target message (e.g. "reinstate_path 8:16") to sector 0.
func Message(name, msg string) error {
	b, err := EncodeMessage(name, 0, msg)
	if err != nil {
		return err
	}
	if err := ioctl(unix.DM_TARGET_MSG, b); err != nil {
		return fmt.Errorf("dm message %s %q: %w", name, msg, err)
	}
	return nil
}

// EncodeMessage builds the DM_TARGET_MSG buffer: struct dm_ioctl, then
// struct dm_target_msg { __u64 sector; char message[]; } (NUL-terminated).
// (devmapper.go's Message is not implemented.)
func EncodeMessage(name string, sector uint64, msg string) ([]byte, error) {
	if msg == "" || strings.ContainsRune(msg, 0) {
		return nil, fmt.Errorf("dm message %q: want a non-empty message without NUL", msg)
	}
	n := ioctlSize + 8 + len(msg) + 1
	n = (n + 7) &^ 7
	b := make([]byte, n)
	if err := header(b, name, 0, 0); err != nil {
		return nil, err
	}
	binary.LittleEndian.PutUint64(b[ioctlSize:], sector)
	copy(b[ioctlSize+8:], msg)
	return b, nil
}

// PathState is one path in a multipath status line.
type PathState struct {
	Dev    string // MAJ:MIN
	Active bool   // "A" (else "F": failed)
	Fails  int
}

// ParseMultipathStatus parses a dm-multipath status line (the params of
// Status(name, false)):
//
//	<#features> <features...> <#hw args> <hw args...> <#groups> <next group>
//	  per group: <A|D|E> <#ps status args> <ps args...> <#paths> <#ps path args>
//	    per path: <dev> <A|F> <fail count> <ps path args...>
func ParseMultipathStatus(s string) ([]PathState, error) {
	f := strings.Fields(s)
	i := 0
	next := func() (string, error) {
		if i >= len(f) {
			return "", fmt.Errorf("multipath status %q: truncated at field %d", s, i)
		}
		i++
		return f[i-1], nil
	}
	count := func() (int, error) {
		v, err := next()
		if err != nil {
			return 0, err
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 1024 {
			return 0, fmt.Errorf("multipath status %q: field %d %q: want a count", s, i, v)
		}
		return n, nil
	}
	skip := func() error {
		n, err := count()
		if err != nil {
			return err
		}
		for ; n > 0; n-- {
			if _, err := next(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := skip(); err != nil { // features
		return nil, err
	}
	if err := skip(); err != nil { // hardware handler
		return nil, err
	}
	groups, err := count()
	if err != nil {
		return nil, err
	}
	if _, err := next(); err != nil { // next group
		return nil, err
	}
	var out []PathState
	for g := 0; g < groups; g++ {
		if _, err := next(); err != nil { // group state
			return nil, err
		}
		if err := skip(); err != nil {
			return nil, err
		}
		paths, err := count()
		if err != nil {
			return nil, err
		}
		pathArgs, err := count()
		if err != nil {
			return nil, err
		}
		for p := 0; p < paths; p++ {
			dev, err := next()
			if err != nil {
				return nil, err
			}
			if _, _, err := ParseDevno(dev); err != nil {
				return nil, fmt.Errorf("multipath status: %w", err)
			}
			st, err := next()
			if err != nil {
				return nil, err
			}
			if st != "A" && st != "F" {
				return nil, fmt.Errorf("multipath status: path %s state %q: want A or F", dev, st)
			}
			fails, err := count()
			if err != nil {
				return nil, err
			}
			for a := 0; a < pathArgs; a++ {
				if _, err := next(); err != nil {
					return nil, err
				}
			}
			out = append(out, PathState{Dev: dev, Active: st == "A", Fails: fails})
		}
	}
	return out, nil
}
