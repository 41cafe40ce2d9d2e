// Package dmmap builds device-mapper maps the initramfs needs without udev
// or dmsetup: dm-multipath over the iSCSI paths (with the DM UUID
// "mpath-<WWID>" the booted OS's multipath-tools recognise), linear maps
// for the partitions of an opened LUKS volume (kpartx's job), and reading
// a map's status for the path checker.
//
// Creating, resuming, messaging and removing devices uses
// github.com/anatol/devmapper.go; that package only loads crypt, linear,
// verity and zero tables, so table loading and status are done here with
// the DM ioctls directly (struct dm_ioctl + struct dm_target_spec + the
// target's parameter string, as in linux/dm-ioctl.h).
package dmmap

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Target is one line of a device-mapper table.
type Target struct {
	Start  uint64 // in 512-byte sectors
	Length uint64 // in 512-byte sectors
	Type   string // "multipath", "linear", ...
	Params string
}

// String is the dmsetup table form.
func (t Target) String() string {
	return fmt.Sprintf("%d %d %s %s", t.Start, t.Length, t.Type, t.Params)
}

// ioctl sizes and flags (linux/dm-ioctl.h).
const (
	ioctlSize       = 312 // sizeof(struct dm_ioctl)
	targetSpecSize  = 40  // sizeof(struct dm_target_spec)
	flagReadOnly    = unix.DM_READONLY_FLAG
	flagStatusTable = unix.DM_STATUS_TABLE_FLAG
	flagBufferFull  = unix.DM_BUFFER_FULL_FLAG
)

// header writes struct dm_ioctl into b[:312].
func header(b []byte, name string, flags uint32, targets uint32) error {
	if len(name) == 0 || len(name) >= 128 || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("dm name %q: want 1..127 bytes without '/'", name)
	}
	le := binary.LittleEndian
	le.PutUint32(b[0:], unix.DM_VERSION_MAJOR)
	le.PutUint32(b[4:], 0)
	le.PutUint32(b[8:], 0)
	le.PutUint32(b[12:], uint32(len(b))) // data_size: the whole buffer
	le.PutUint32(b[16:], ioctlSize)      // data_start
	le.PutUint32(b[20:], targets)
	le.PutUint32(b[28:], flags)
	copy(b[48:176], name)
	return nil
}

// EncodeLoad builds the DM_TABLE_LOAD buffer for targets.
func EncodeLoad(name string, readOnly bool, targets []Target) ([]byte, error) {
	if len(targets) == 0 {
		return nil, fmt.Errorf("dm %s: empty table", name)
	}
	var body bytes.Buffer
	for i, t := range targets {
		if len(t.Type) == 0 || len(t.Type) >= 16 {
			return nil, fmt.Errorf("dm %s: target %d type %q: want 1..15 bytes", name, i, t.Type)
		}
		if strings.ContainsRune(t.Params, 0) || t.Length == 0 {
			return nil, fmt.Errorf("dm %s: target %d: empty or NUL in parameters", name, i)
		}
		params := append([]byte(t.Params), 0)
		for (targetSpecSize+len(params))%8 != 0 {
			params = append(params, 0)
		}
		spec := make([]byte, targetSpecSize)
		binary.LittleEndian.PutUint64(spec[0:], t.Start)
		binary.LittleEndian.PutUint64(spec[8:], t.Length)
		// next: offset of the next spec from this one's start.
		binary.LittleEndian.PutUint32(spec[20:], uint32(targetSpecSize+len(params)))
		copy(spec[24:40], t.Type)
		body.Write(spec)
		body.Write(params)
	}
	b := make([]byte, ioctlSize+body.Len())
	var flags uint32
	if readOnly {
		flags |= flagReadOnly
	}
	if err := header(b, name, flags, uint32(len(targets))); err != nil {
		return nil, err
	}
	copy(b[ioctlSize:], body.Bytes())
	return b, nil
}

// DecodeStatus reads the targets out of a DM_TABLE_STATUS reply.
func DecodeStatus(b []byte) ([]Target, error) {
	if len(b) < ioctlSize {
		return nil, fmt.Errorf("dm status reply: %d bytes, want >= %d", len(b), ioctlSize)
	}
	le := binary.LittleEndian
	start := int(le.Uint32(b[16:]))
	count := int(le.Uint32(b[20:]))
	size := int(le.Uint32(b[12:]))
	if size > len(b) {
		size = len(b)
	}
	if start < ioctlSize || start > size || count > 1<<16 {
		return nil, fmt.Errorf("dm status reply: data_start %d, %d targets in %d bytes", start, count, size)
	}
	data := b[start:size]
	var out []Target
	off := 0
	for i := 0; i < count; i++ {
		if off < 0 || off+targetSpecSize > len(data) {
			return nil, fmt.Errorf("dm status reply: target %d at %d out of bounds", i, off)
		}
		s := data[off:]
		t := Target{Start: le.Uint64(s[0:]), Length: le.Uint64(s[8:]), Type: cstr(s[24:40])}
		t.Params = cstr(s[targetSpecSize:])
		out = append(out, t)
		next := int(le.Uint32(s[20:]))
		// In replies next is relative to the data area's start.
		if next <= off && i+1 < count {
			return nil, fmt.Errorf("dm status reply: target %d: next %d does not advance", i, next)
		}
		off = next
	}
	return out, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}

func ioctl(cmd uintptr, b []byte) error {
	f, err := os.OpenFile("/dev/mapper/control", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("device-mapper control: %w", err)
	}
	defer f.Close()
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), cmd, uintptr(unsafe.Pointer(&b[0]))); e != 0 {
		return e
	}
	return nil
}

// Load loads targets as name's inactive table (Resume activates it).
func Load(name string, readOnly bool, targets ...Target) error {
	b, err := EncodeLoad(name, readOnly, targets)
	if err != nil {
		return err
	}
	if err := ioctl(unix.DM_TABLE_LOAD, b); err != nil {
		return fmt.Errorf("dm table load %s (%s): %w", name, targets[0].Type, err)
	}
	return nil
}

// Status returns name's status lines (table=false) or its table
// (table=true), one Target per line.
func Status(name string, table bool) ([]Target, error) {
	for size := 16 << 10; size <= 1<<20; size *= 4 {
		b := make([]byte, size)
		var flags uint32
		if table {
			flags = flagStatusTable
		}
		if err := header(b, name, flags, 0); err != nil {
			return nil, err
		}
		if err := ioctl(unix.DM_TABLE_STATUS, b); err != nil {
			return nil, fmt.Errorf("dm status %s: %w", name, err)
		}
		if binary.LittleEndian.Uint32(b[28:])&flagBufferFull != 0 {
			continue
		}
		return DecodeStatus(b)
	}
	return nil, fmt.Errorf("dm status %s: reply larger than 1 MiB", name)
}
