#!/bin/sh
# Build the lab's test OS root folder from Debian's busybox-static package.
#
#   images/testos/build.sh OUTDIR [HOSTNAME]
#
# OUTDIR gets: /bin/busybox with an applet link for every applet, /sbin/init
# (a shell script: mounts, "DT-OS-BOOTED <hostname>", /proc/mounts between
# markers, network from /etc/dt/network.env, an os-booted event to bootsrv,
# then a console shell in a loop), /usr/bin/dt-event, /etc/hostname,
# /etc/passwd, /etc/group (root and an unprivileged "user"). Pack it with `trapctl image pack OUTDIR`.
#
# busybox comes from the installed busybox-static package (dpkg -L), else
# from `apt-get download busybox-static` + `dpkg -x` into a temp folder.
set -eu

out=${1:?usage: build.sh OUTDIR [HOSTNAME]}
name=${2:-testos}
here=$(cd "$(dirname "$0")" && pwd)

bb=""
if dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
	bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n1)
fi
tmp=""
if [ -z "$bb" ] || [ ! -x "$bb" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download busybox-static >/dev/null)
	dpkg -x "$tmp"/busybox-static_*.deb "$tmp/x"
	bb="$tmp/x/bin/busybox"
fi
# A static binary: no libraries to copy.
if ! "$bb" true 2>/dev/null; then
	echo "build.sh: $bb does not run" >&2
	exit 1
fi

mkdir -p "$out"
cd "$out"
mkdir -p bin sbin usr/bin usr/sbin etc/dt proc sys dev run tmp root var/log var/lib var/tmp
chmod 1777 tmp var/tmp
chmod 0700 root
cp "$bb" bin/busybox
chmod 0755 bin/busybox
for applet in $("$bb" --list-full); do
	case "$applet" in
	bin/busybox) continue ;;
	esac
	mkdir -p "$(dirname "$applet")"
	rm -f "$applet"
	ln -s /bin/busybox "$applet"
done

rm -f sbin/init usr/bin/dt-event
install -m 0755 "$here/init" sbin/init
install -m 0755 "$here/dt-event" usr/bin/dt-event
echo "$name" > etc/hostname
# user: an unprivileged account (the lab checks what a non-root user of a
# booted node can reach: docs/threat-model.md).
printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/tmp:/bin/sh\n' > etc/passwd
printf 'root:x:0:\nuser:x:1000:\n' > etc/group
printf 'root::0:0:99999:7:::\nuser:!:0:0:99999:7:::\n' > etc/shadow
chmod 0600 etc/shadow
printf '127.0.0.1 localhost\n' > etc/hosts
echo "build.sh: test OS in $out ($(du -sh . | cut -f1))"
