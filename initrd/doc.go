// Package initrd builds the DisklessTrap initramfs.
//
// Build assembles, through u-root's builder library (mkuimage):
//
//   - the trap agent, compiled with -trimpath and a stripped, build-id-free
//     link, as /init (and /bin/trap, a symlink to it, so `trap continue`
//     works inside the trap);
//   - optional u-root commands compiled as one Go busybox under /bbin;
//   - host binaries (busybox-static by default, later iscsiadm, mkfs.xfs,
//     lvm...) with the shared libraries and ELF interpreter they need, and
//     busybox applet symlinks under /bin;
//   - kernel modules of one kernel version with every dependency that
//     modules.dep lists, plus a modules.dep (and alias, softdep, builtin
//     files) trimmed to the modules included, as u-root's kmodule reads it;
//   - the agent's configuration at /etc/trap/config.json and extra files.
//
// The output is reproducible: the cpio records are sorted, their times,
// owners, inode and device numbers zeroed, and the gzip header carries no
// time or name, so the same inputs give a byte-identical image.
package initrd
