package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// handlePowerSignals makes `reboot`, `poweroff` and `halt` work inside the
// trap: busybox sends PID 1 SIGTERM, SIGUSR2 and SIGUSR1 for them. Only an
// admin's explicit command reaches here; the agent itself never reboots.
func handlePowerSignals() {
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGUSR1, syscall.SIGUSR2)
	go func() {
		for s := range c {
			what, cmd := "reboot", unix.LINUX_REBOOT_CMD_RESTART
			switch s {
			case syscall.SIGUSR1:
				what, cmd = "halt", unix.LINUX_REBOOT_CMD_HALT
			case syscall.SIGUSR2:
				what, cmd = "power off", unix.LINUX_REBOOT_CMD_POWER_OFF
			}
			fmt.Fprintf(os.Stderr, "*** DisklessTrap: %s requested (%v); syncing\n", what, s)
			unix.Sync()
			if err := unix.Reboot(cmd); err != nil {
				fmt.Fprintf(os.Stderr, "*** DisklessTrap: %s: %v\n", what, err)
			}
		}
	}()
}
