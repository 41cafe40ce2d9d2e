// Command testinit is a stand-in /init for the initrd boot test: it prints
// the marker DT-INITRD-OK, lists /lib/modules and the agent config, then
// powers the machine off.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	fmt.Println("DT-INITRD-OK pid", os.Getpid())
	n := 0
	_ = filepath.WalkDir("/lib/modules", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			fmt.Println("DT-INITRD walk:", err)
			return nil
		}
		if !d.IsDir() {
			fmt.Println("DT-INITRD module-file", p)
			if strings.HasSuffix(p, ".ko") {
				n++
			}
		}
		return nil
	})
	fmt.Println("DT-INITRD modules", n)
	if b, err := os.ReadFile("/etc/trap/config.json"); err == nil {
		fmt.Printf("DT-INITRD config %s\n", strings.Join(strings.Fields(string(b)), ""))
	}
	if _, err := os.Stat("/bin/sh"); err == nil {
		fmt.Println("DT-INITRD has /bin/sh")
	}
	syscall.Sync()
	time.Sleep(100 * time.Millisecond)
	if err := syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println("DT-INITRD poweroff:", err)
	}
	select {}
}
