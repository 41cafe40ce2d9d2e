// Package ipxe renders the iPXE scripts bootsrv serves over HTTP.
//
//   - Chain returns the static /boot.ipxe that DHCP points iPXE at: it
//     chains to bootsrv's per-node endpoint with the client's MAC, platform
//     and architecture, retrying every 30 seconds and rebooting (after
//     another 30 seconds) when bootsrv stays unreachable, so a node never
//     spins in a tight reboot loop.
//   - Script returns a node's script: the trap kernel and initramfs with the
//     kernel command-line keys of package manifest (BOOTIF, dt.server,
//     dt.node, dt.mode), or a local-disk boot (sanboot on BIOS, exit on
//     UEFI so the firmware tries its next boot entry).
//
// The scripts travel in clear over HTTP and end up on the kernel command
// line, readable by anyone on the node (/proc/cmdline) and on the network:
// they must never contain secrets (keys, passwords, tokens). Credentials
// reach a node only through its manifest, fetched later over the channel
// the manifest design chooses. iPXE has no quoting, so Script holds every
// value to an allow-list of characters that are never iPXE syntax (no
// whitespace in URLs, no newlines, "$", "#", ";", "&", "|", backslashes or
// single quotes anywhere; CheckCmdline, CheckBootFile) and names the
// offending field: whatever the inventory says, the rendered script has
// exactly the template's commands. Inventory validation uses the same
// checks, so a bad value is refused at file:line, not at boot time.
package ipxe
