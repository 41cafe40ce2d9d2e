package inventory

import (
	"fmt"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Checks of the install attribute group. An empty value is accepted (it
// means "unset"; bootsrv's manifest code names a missing required value
// as a manifest problem).

// checkScript accepts a shell script (newlines and tabs allowed, no other
// control characters, at most 64 KiB) or "file:NAME" naming a clean
// relative path under DATA/scripts.
func checkScript(s string) error {
	if _, ok, err := manifest.ScriptFile(s); ok {
		return err
	}
	if len(s) > 64<<10 {
		return fmt.Errorf("script of %d bytes: at most 64 KiB inline (use file:NAME under the data folder's scripts/)", len(s))
	}
	for _, r := range s {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f {
			return fmt.Errorf("script: control character %q not allowed", r)
		}
	}
	return nil
}

// checkDisk accepts a disk selector (manifest.ParseDiskSelector): never a
// kernel name such as sda.
func checkDisk(s string) error {
	if s == "" {
		return nil
	}
	_, err := manifest.ParseDiskSelector(s)
	return err
}

// checkBootloader accepts grub or none.
func checkBootloader(s string) error {
	switch s {
	case "", manifest.BootloaderGrub, manifest.BootloaderNone:
		return nil
	}
	return fmt.Errorf("bootloader %q: want grub or none", s)
}
