package main

import (
	"flag"
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/bootsrv/invcheck"
)

var inventoryCheckData string

// inventoryDataDirs are where bootsrv's data folder usually is: the
// Debian package's, then bootsrv's default --data.
var inventoryDataDirs = []string{"/var/lib/disklesstrap/data", "/srv/disklesstrap"}

var inventoryCheck = &command{
	name: "inventory check", args: "FILE [--data DIR]", summary: "validate an inventory file exactly as bootsrv's reload would",
	help: `Prints every problem as FILE:LINE: FIELD: message and exits 1 if there is
any; needs no bootsrv. Same check as bootsrv check --config FILE (which the
systemd unit runs before each reload). On bootsrv's host the litefile rules
are also checked against the registry's images (DIR/images; default: the
first of /var/lib/disklesstrap/data and /srv/disklesstrap that has one): a
folder rule without the trailing / where the image has a folder is refused.`,
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		inventoryCheckData = ""
		fs.StringVar(&inventoryCheckData, "data", "", "bootsrv's data folder (its images/ registry)")
	},
	run: func(e *env, args []string) error {
		data := inventoryCheckData
		for _, d := range inventoryDataDirs {
			if data != "" {
				break
			}
			if fi, err := os.Stat(filepath.Join(d, "images")); err == nil && fi.IsDir() {
				data = d
			}
		}
		return invcheck.CheckData(args[0], data, e.stdout, e.stderr)
	},
}
