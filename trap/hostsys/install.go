package hostsys

import (
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ReadDir lists the names in a directory, sorted.
func (Sys) ReadDir(path string) ([]string, error) {
	es, err := os.ReadDir(path)
	names := make([]string, 0, len(es))
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names, err
}

// Reboot syncs the file systems and restarts the machine (only as PID 1
// or with CAP_SYS_BOOT). It returns only on failure.
func (Sys) Reboot() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART)
}

// CountTree walks dir without following symlinks and returns how many
// entries it holds; the first unreadable directory or entry is the error
// (a damaged image shows here instead of as files missing after a copy).
func (Sys) CountTree(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		return nil
	})
	return n, err
}
