#!/bin/sh
# Build the lab's installable disk OS: the test OS (images/testos) plus what
# a diskful install needs, all from Debian packages cached like the guest
# kernel:
#
#   images/diskos/build.sh OUTDIR KERNEL_CACHE GRUB_CACHE
#
#   KERNEL_CACHE  tools/kernel/fetch.sh's folder (KVER, vmlinuz, root/)
#   GRUB_CACHE    tools/grub/fetch.sh's folder (root/ with grub and libefi*)
#
# OUTDIR gets the test OS, /boot/vmlinuz-KVER (the guest kernel),
# /boot/initrd.img-KVER (a busybox initramfs: virtio/ext4 modules, mounts
# root=UUID=... from the kernel command line, switch_root to /sbin/init),
# and grub: /usr/sbin/grub-install with its libraries, /usr/lib/grub/i386-pc
# and /usr/lib/grub/x86_64-efi, for the install's chrooted grub-install.
# Pack it with `trapctl image pack OUTDIR`.
set -eu

out=${1:?usage: build.sh OUTDIR KERNEL_CACHE GRUB_CACHE}
kcache=${2:?kernel cache folder}
gcache=${3:?grub cache folder}
here=$(cd "$(dirname "$0")" && pwd)

kver=$(cat "$kcache/KVER")
kroot="$kcache/root"
[ -x "$gcache/root/usr/sbin/grub-install" ] || { echo "build.sh: no grub in $gcache (run tools/grub/fetch.sh $gcache)" >&2; exit 1; }

"$here/../testos/build.sh" "$out" diskos >/dev/null
out=$(cd "$out" && pwd)

# The kernel, as a distribution installs it.
mkdir -p "$out/boot" "$out/boot/efi"
cp -L "$kcache/vmlinuz" "$out/boot/vmlinuz-$kver"

# The OS's own initramfs.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ir="$tmp/initrd"
mkdir -p "$ir/bin" "$ir/dev" "$ir/proc" "$ir/sys" "$ir/newroot" "$ir/lib/modules"
cp "$out/bin/busybox" "$ir/bin/busybox"
for a in sh mount umount insmod switch_root findfs sleep cat mkdir echo; do ln -s busybox "$ir/bin/$a"; done
: >"$ir/modules.list"
for m in crc32c_generic virtio_pci virtio_blk virtio_net ext4; do
	modprobe -d "$kroot" -S "$kver" --show-depends "$m" | while read -r cmd ko _; do
		[ "$cmd" = insmod ] || continue
		case "$ko" in *crc32c-intel*) continue ;; esac
		name=$(basename "$ko")
		grep -qx "$name" "$ir/modules.list" && continue
		cp "$ko" "$ir/lib/modules/$name"
		echo "$name" >>"$ir/modules.list"
	done
done
cat >"$ir/init" <<'INIT'
#!/bin/sh
# diskos initramfs: load the disk and NIC drivers, mount root=UUID=... and
# switch_root into the installed OS.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.list); do insmod /lib/modules/$m 2>/dev/null; done
root=""
for a in $(cat /proc/cmdline); do
	case "$a" in root=*) root=${a#root=} ;; esac
done
echo "diskos initramfs: root $root"
dev=""
i=0
while [ -z "$dev" ] && [ $i -lt 50 ]; do
	dev=$(findfs "$root" 2>/dev/null)
	[ -n "$dev" ] || { sleep 0.2; i=$((i + 1)); }
done
[ -n "$dev" ] || { echo "diskos initramfs: $root not found"; exec sh; }
mount -t ext4 "$dev" /newroot || { echo "diskos initramfs: mount $dev failed"; exec sh; }
echo "diskos initramfs: root $dev mounted; switch_root"
umount /proc /sys 2>/dev/null
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
INIT
chmod 0755 "$ir/init"
(cd "$ir" && find . | sort | cpio -o -H newc --quiet | gzip -9n) >"$out/boot/initrd.img-$kver"

# grub-install and its files, with the libraries it links (the cache's
# libefi*, the rest from this Debian host).
g="$gcache/root"
mkdir -p "$out/usr/sbin" "$out/usr/lib/grub"
cp "$g/usr/sbin/grub-install" "$out/usr/sbin/grub-install"
cp -a "$g/usr/lib/grub/i386-pc" "$g/usr/lib/grub/x86_64-efi" "$out/usr/lib/grub/"
mkdir -p "$out/usr/share/grub"
cp -a "$g/usr/share/grub/." "$out/usr/share/grub/" 2>/dev/null || true
LD_LIBRARY_PATH="$g/usr/lib/x86_64-linux-gnu" ldd "$g/usr/sbin/grub-install" | while read -r a b c _; do
	lib=""
	case "$b" in
	"=>") lib=$c ;;
	*) case "$a" in /*) lib=$a ;; esac ;;
	esac
	[ -n "$lib" ] && [ -e "$lib" ] || continue
	dst="$out$lib"
	case "$lib" in "$g"/*) dst="$out${lib#"$g"}" ;; esac
	mkdir -p "$(dirname "$dst")"
	cp -L "$lib" "$dst"
done
if LD_LIBRARY_PATH= chroot "$out" /usr/sbin/grub-install --version >/dev/null 2>&1; then :; else
	echo "build.sh: grub-install does not run in $out" >&2
	exit 1
fi
echo "build.sh: disk OS in $out (kernel $kver, $(du -sh "$out" | cut -f1))"
