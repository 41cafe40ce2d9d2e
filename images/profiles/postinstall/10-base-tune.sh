#!/bin/sh
# postinstall (build time): $1 is the image root. Idempotent.
# Root logs in with keys only; DNS lookups do not slow logins down.
set -eu
root=${1:?usage: 10-base-tune.sh IMAGE_ROOT}
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$root/etc/ssh/sshd_config.d/10-dt.conf"
# Kernel modules live in the trap's initramfs, not in the image: no autofs4
# for the binfmt_misc automount point (it would fail and degrade the boot).
mkdir -p "$root/etc/systemd/system"
ln -sfn /dev/null "$root/etc/systemd/system/proc-sys-fs-binfmt_misc.automount"
# No console login: root has no password (admins come in over SSH with the
# inventory's keys), and a getty on the console tty makes systemd stop
# printing its boot status there ("Reached target multi-user.target").
ln -sfn /dev/null "$root/etc/systemd/system/serial-getty@.service"
