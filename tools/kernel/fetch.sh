#!/usr/bin/env bash
# fetch.sh CACHE_DIR — fetch Debian's guest kernel for the lab and the initrd builder.
#
# Resolves the linux-image-<kver>-amd64 package that Debian's linux-image-amd64
# depends on, downloads it with apt-get, unpacks it into CACHE_DIR/root,
# generates modules.dep with depmod, and writes:
#   CACHE_DIR/KVER      the kernel version (e.g. 6.1.0-56-amd64)
#   CACHE_DIR/vmlinuz   symlink to root/boot/vmlinuz-KVER
#   CACHE_DIR/.stamp    "<package> <deb version>" of the completed fetch
# Running it again is a no-op once a fetch has completed (the stamp exists and
# the files are there); DT_KERNEL_REFRESH=1 re-resolves the package and
# fetches again when Debian's linux-image-amd64 has moved to another kernel.
set -euo pipefail

cache=${1:-.cache/kernel}
meta=${DT_KERNEL_META:-linux-image-amd64}

log() { printf 'kernel: %s\n' "$*"; }
die() { printf 'kernel: error: %s\n' "$*" >&2; exit 1; }

for tool in apt-cache apt-get dpkg depmod; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (install apt, dpkg and kmod)"
done

# resolve prints "<package> <version>" for the kernel image $meta depends on,
# or nothing when the package lists do not know $meta.
resolve() {
	local pkg ver
	pkg=$(apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/^ *|\{0,1\}Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || return 0
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null | sed -n 's/^Version: //p' | head -n1)
	[ -n "$ver" ] || return 0
	printf '%s %s\n' "$pkg" "$ver"
}

mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
stamp="$cache/.stamp"

if [ -z "${DT_KERNEL_REFRESH:-}" ] && [ -s "$stamp" ] && [ -s "$cache/KVER" ] &&
	[ -f "$cache/root/lib/modules/$(cat "$cache/KVER")/modules.dep" ] && [ -e "$cache/vmlinuz" ]; then
	log "up to date: $(cat "$stamp") in $cache (DT_KERNEL_REFRESH=1 to re-resolve)"
	exit 0
fi

want=$(resolve)
if [ -z "$want" ]; then
	log "package lists do not know $meta; running apt-get update"
	apt-get update -qq
	want=$(resolve)
	[ -n "$want" ] || die "cannot resolve the kernel package that $meta depends on"
fi
pkg=${want% *}
ver=${want#* }
kver=${pkg#linux-image-}

if [ -s "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] &&
	[ -f "$cache/root/lib/modules/$kver/modules.dep" ] && [ -e "$cache/vmlinuz" ]; then
	log "up to date: $pkg $ver ($cache)"
	exit 0
fi

log "fetching $pkg $ver into $cache"
rm -f "$stamp"
debs="$cache/debs"
mkdir -p "$debs"
# apt drops privileges to _apt for downloads when it can: let it write here.
chmod 0755 "$cache" "$debs"
chown _apt "$debs" 2>/dev/null || true
deb=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ] || ! dpkg-deb --field "$deb" Version | grep -qxF "$ver"; then
	rm -f "$debs/${pkg}_"*.deb
	(cd "$debs" && apt-get download -q "$pkg=$ver")
	deb=$(ls "$debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
	[ -n "$deb" ] || die "apt-get download $pkg=$ver produced no .deb in $debs"
fi
log "downloaded $(basename "$deb") ($(du -h "$deb" | cut -f1))"

tmp="$cache/root.tmp"
rm -rf "$tmp"
dpkg -x "$deb" "$tmp"
[ -d "$tmp/lib/modules/$kver" ] || die "$deb has no lib/modules/$kver"
[ -f "$tmp/boot/vmlinuz-$kver" ] || die "$deb has no boot/vmlinuz-$kver"
depmod -b "$tmp" "$kver"
[ -s "$tmp/lib/modules/$kver/modules.dep" ] || die "depmod wrote no modules.dep for $kver"
rm -rf "$cache/root"
mv "$tmp" "$cache/root"

ln -sfn "root/boot/vmlinuz-$kver" "$cache/vmlinuz"
printf '%s\n' "$kver" >"$cache/KVER"
printf '%s\n' "$want" >"$stamp"
nmods=$(find "$cache/root/lib/modules/$kver" -name '*.ko*' | wc -l)
log "unpacked $kver: $nmods modules, vmlinuz $(du -hL "$cache/vmlinuz" | cut -f1), modules.dep written"
log "KVER=$kver vmlinuz=$cache/vmlinuz root=$cache/root"
