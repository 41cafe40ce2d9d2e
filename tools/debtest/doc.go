// Package debtest proves the Debian package (make deb, packaging/debian)
// the way a head node gets it: lintian, systemd-analyze verify and
// security on bootsrv.service, dpkg -i + apt-get -f install into a fresh
// Debian 12 root made by mmdebstrap (package downloads cached under
// $DT_CACHE/mmdebstrap, from the same mirror the host's apt uses), the
// files and conffiles where the README says, `bootsrv check` on the
// packaged inventory, and `trapctl initrd build` in that root, which has no
// Go toolchain, making an initramfs that boots a QEMU lab node into the
// trap while bootsrv logs JSON that follows the node's boot by its name.
package debtest
