#!/bin/sh
# postinstall (build time): $1 is the image root. Idempotent.
# Root logs in with keys only; DNS lookups do not slow logins down.
set -eu
root=${1:?usage: 10-base-sshd.sh IMAGE_ROOT}
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'PermitRootLogin prohibit-password\nPasswordAuthentication no\nUseDNS no\n' >"$root/etc/ssh/sshd_config.d/10-dt.conf"
