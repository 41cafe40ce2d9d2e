package hostsys

import (
	"os"

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
