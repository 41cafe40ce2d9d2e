#!/usr/bin/env bash
# fetch.sh CACHE_DIR — fetch Debian's grub for the lab's installable disk OS
# (images/diskos/build.sh), like tools/kernel/fetch.sh fetches the kernel.
#
# apt-get downloads grub-common, grub2-common, grub-pc-bin (BIOS),
# grub-efi-amd64-bin (UEFI) and grub-install's libraries libefiboot1 and
# libefivar1, unpacks them with dpkg -x into CACHE_DIR/root and writes
# CACHE_DIR/.stamp. Running it again is a no-op once a fetch has completed.
set -euo pipefail

cache=${1:-.cache/grub}
pkgs=(grub-common grub2-common grub-pc-bin grub-efi-amd64-bin libefiboot1 libefivar1)

log() { printf 'grub: %s\n' "$*"; }
die() { printf 'grub: error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
if [ -s "$cache/.stamp" ] && [ -x "$cache/root/usr/sbin/grub-install" ] &&
	[ -d "$cache/root/usr/lib/grub/i386-pc" ] && [ -d "$cache/root/usr/lib/grub/x86_64-efi" ]; then
	log "up to date: $(tr '\n' ' ' <"$cache/.stamp")($cache)"
	exit 0
fi
debs="$cache/debs"
mkdir -p "$debs"
chmod 0755 "$cache" "$debs"
chown _apt "$debs" 2>/dev/null || true
rm -f "$debs"/*.deb
if ! (cd "$debs" && apt-get download -q "${pkgs[@]}"); then
	log "apt-get download failed; running apt-get update"
	apt-get update -qq
	(cd "$debs" && apt-get download -q "${pkgs[@]}") || die "apt-get download ${pkgs[*]} failed"
fi
tmp="$cache/root.tmp"
rm -rf "$tmp"
for d in "$debs"/*.deb; do
	dpkg -x "$d" "$tmp"
done
[ -x "$tmp/usr/sbin/grub-install" ] || die "no usr/sbin/grub-install in the packages"
rm -rf "$cache/root"
mv "$tmp" "$cache/root"
for d in "$debs"/*.deb; do dpkg-deb --field "$d" Package Version | tr '\n' ' '; echo; done >"$cache/.stamp"
log "unpacked $(wc -l <"$cache/.stamp") packages into $cache/root"
