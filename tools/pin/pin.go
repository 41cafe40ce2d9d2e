//go:build tools

// Package pin keeps the exact module versions the project builds with in
// go.mod (the module proxy here refuses @latest; see shared/FACTS.md).
package pin

import (
	_ "github.com/anacrolix/torrent"
	_ "github.com/anatol/luks.go"
	_ "github.com/creack/pty"
	_ "github.com/diskfs/go-diskfs"
	_ "github.com/insomniacslk/dhcp/dhcpv4/nclient4"
	_ "github.com/insomniacslk/dhcp/dhcpv4/server4"
	_ "github.com/pin/tftp/v3"
	_ "github.com/pkg/sftp"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/u-root/mkuimage/uimage"
	_ "github.com/u-root/u-root/pkg/kmodule"
	_ "github.com/u-root/u-root/pkg/mount"
	_ "github.com/vishvananda/netlink"
	_ "golang.org/x/crypto/ssh"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)
