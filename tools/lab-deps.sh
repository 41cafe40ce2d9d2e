#!/usr/bin/env bash
# Installs the Debian packages the lab needs (idempotent; quick when present).
set -euo pipefail
# tools/lab-deps.sh [--bench] : --bench adds the reference systems of make bench.
pkgs=(
  qemu-system-x86 ipxe-qemu ipxe ovmf          # QEMU, iPXE ROMs and binaries, UEFI firmware
  busybox-static cpio kmod                     # initramfs and test OS userland, depmod
  zstd                                         # trap initramfs compression (initrd falls back to Go's encoder)
  openssh-client iproute2                      # real SSH client, network namespaces
  tftp-hpa atftp                               # real TFTP clients for the tftpd tests
  aria2                                        # a real BitTorrent peer for the interop test
  squashfs-tools e2fsprogs xfsprogs            # images, zram filesystems
  tgt lvm2 cryptsetup-bin                      # lab iSCSI target, test disk LVM and LUKS
  open-iscsi                                   # iscsid + iscsiadm copied into the iSCSI trap initramfs
  curl util-linux                              # admin-auth tests: curl as nobody via setpriv
  socat                                        # make demo's console commands (socat - UNIX-CONNECT:...)
  lintian mmdebstrap systemd systemd-container # make deb's checks: lintian, a Debian 12 root, systemd-analyze, nspawn
  nfs-ganesha nfs-ganesha-vfs                  # statelite lab's NFSv4 server (started by the test in the namespace)
  openipmi                                     # ipmi_sim: the lab nodes' BMCs (TestPower)
  postgresql                                   # shared state of bootsrv replicas (tests start their own server: initdb + pg_ctl)
  gdisk dosfstools                             # sgdisk + mkfs.vfat in the install trap initramfs (trapctl initrd build --install)
  chromium                                     # the web status page test (headless, driven by chromedp)
)
if [[ "${1:-}" == --bench ]]; then
  pkgs+=(kea-admin kea-dhcp4-server nginx wrk)  # perfdhcp, Kea, nginx, wrk for make bench
  # dracut for the initramfs bench: dracut-core only (the dracut package
  # hooks the host's kernel installs), dracut-network (network, iscsi modules),
  # multipath-tools for its multipath module
  pkgs+=(dracut-core dracut-network multipath-tools)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "lab-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "lab-deps: Debian packages present"
fi
