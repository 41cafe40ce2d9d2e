package iscsi

import (
	"context"

	"github.com/disklesstrap/disklesstrap/trap/dmmap"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Path is one SCSI disk of an iSCSI session.
type Path struct {
	Disk   string // kernel name, "sdb"
	Devno  string // "8:16"
	Portal string // the session's portal "198.18.0.1:3260"
}

// Storage is what the iSCSI steps need beyond plan.Run and plan.Sys:
// sysfs lookups, device-mapper, LUKS, secrets and the path checker. The
// agent's plan.Sys may implement it; otherwise the steps use Real. Test
// fakes record the calls.
type Storage interface {
	// Paths lists the disks of the sessions to target with LUN lun.
	Paths(target string, lun int) ([]Path, error)
	// ReadFile reads a (sysfs) file.
	ReadFile(path string) ([]byte, error)
	// DMCreate creates, loads and resumes a map (existing: no-op).
	DMCreate(name, uuid string, readOnly bool, targets []dmmap.Target) error
	// DMDevno is a map's MAJ:MIN ("" and an error when it does not exist).
	DMDevno(name string) (string, error)
	// LUKSOpen unlocks the LUKS volume on dev with passphrase into the
	// dm-crypt map name, and zeroes passphrase. An open map is a no-op.
	LUKSOpen(dev string, passphrase []byte, name string) error
	// Partitions reads the GPT of dev.
	Partitions(dev string) ([]Partition, error)
	// Secret fetches a secret by reference name (never logged).
	Secret(ctx context.Context, env *plan.Env, name string) ([]byte, error)
	// StartChecker starts the multipath path checker for map name.
	StartChecker(name string)
	// StartKeeper starts the path keeper (trap pathd) for maps, chrooted
	// into root, to outlive switch_root; already running: no-op.
	StartKeeper(root string, maps []string) error
}

// Partition is one GPT partition, in 512-byte sectors.
type Partition struct {
	Number        int
	Start, Length uint64
}

func storage(env *plan.Env) Storage {
	if s, ok := env.Sys.(Storage); ok {
		return s
	}
	return Real{}
}

// DevPath is the device node of a map's MAJ:MIN (devtmpfs names dm
// devices dm-MINOR; there is no udev for /dev/mapper in the initramfs).
func DevPath(devno string) string {
	_, mi, err := dmmap.ParseDevno(devno)
	if err != nil {
		return "/dev/" + devno
	}
	return "/dev/dm-" + itoa(int(mi))
}
