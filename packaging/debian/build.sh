#!/usr/bin/env bash
# packaging/debian/build.sh OUTDIR : builds OUTDIR/disklesstrap_VERSION_amd64.deb
# with dpkg-deb from the source tree (make deb). Needs Go; DEB_VERSION
# overrides the version (default 0.1.<commit count>).
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
GO=${GO:-go}
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
version=${DEB_VERSION:-0.1.$(git -C "$src" rev-list --count HEAD 2>/dev/null || echo 0)}
date=$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}")

work=$(mktemp -d "${TMPDIR:-/tmp}/dt-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/disklesstrap
install -d -m 0755 "$root/DEBIAN" "$root/usr/sbin" "$root/usr/bin" "$root/usr/lib/disklesstrap/initrd" \
	"$root/lib/systemd/system" "$root/etc/disklesstrap" "$root/etc/default" "$doc/examples" \
	"$root/usr/share/man/man1" "$root/usr/share/man/man8"

echo "deb: building bootsrv, trapctl"
(cd "$src" && $GO build -trimpath -ldflags='-s -w -buildid=' -o "$root/usr/sbin/bootsrv" ./cmd/bootsrv)
(cd "$src" && $GO build -trimpath -ldflags='-s -w -buildid=' -o "$root/usr/bin/trapctl" ./cmd/trapctl)

# The trap agent, the torrent helper and the Go busybox of u-root commands,
# so trapctl initrd build needs no Go on the head node. Kept between runs
# in DT_CACHE keyed by the sources they are built from.
key=$(cd "$src" && { $GO version; cat go.mod go.sum; find cmd/trap cmd/trap-torrent trap manifest api initrd/config.go -type f -name '*.go' ! -name '*_test.go' | sort | xargs sha256sum; } | sha256sum | cut -c1-24)
pre=${DT_CACHE:-$src/.cache}/deb-prebuilt/$key
if [[ ! -x $pre/bb ]]; then
	echo "deb: prebuilding the initramfs Go parts into $pre"
	rm -rf "$pre.tmp"
	(cd "$src" && "$root/usr/bin/trapctl" initrd prebuild -dir "$pre.tmp")
	mv "$pre.tmp" "$pre"
fi
install -m 0755 "$pre/trap" "$pre/trap-torrent" "$pre/bb" "$root/usr/lib/disklesstrap/initrd/"
install -m 0644 "$pre/bb.commands" "$root/usr/lib/disklesstrap/initrd/"

install -m 0644 "$here/bootsrv.service" "$root/lib/systemd/system/"
install -m 0644 "$here/cluster.yaml" "$root/etc/disklesstrap/cluster.yaml"
install -m 0644 "$here/default" "$root/etc/default/disklesstrap"
"$root/usr/sbin/bootsrv" check --config "$root/etc/disklesstrap/cluster.yaml" >/dev/null

install -m 0644 "$here/copyright" "$doc/copyright"
install -D -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/disklesstrap"
sed -e "s/@VERSION@/$version/" -e "s/@DATE@/$date/" "$here/changelog" | gzip -9n >"$doc/changelog.gz"
for f in README.md docs/architecture.md docs/iscsi.md docs/threat-model.md; do
	gzip -9n <"$src/$f" >"$doc/$(basename "$f").gz"
done
install -m 0644 "$src/docs/examples/cluster.yaml" "$doc/examples/cluster.yaml"

# Man pages from the commands' own help (the flag definitions), so they
# never drift from --help.
manpage() { # NAME SECTION SUMMARY COMMAND...
	local name=$1 sec=$2 summary=$3
	shift 3
	{
		printf '.TH %s %s "%s" "disklesstrap %s"\n' "${name^^}" "$sec" "$(date -u -d "$date" +%Y-%m-%d)" "$version"
		printf '.SH NAME\n%s \\- %s\n.SH DESCRIPTION\n.nf\n' "$name" "$summary"
		"$@" | sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
		printf '.fi\n.SH FILES\n.nf\n/etc/disklesstrap/cluster.yaml  inventory\n/etc/default/disklesstrap       BOOTSRV_ARGS for bootsrv.service\n/var/lib/disklesstrap           state (SQLite, TLS certificate, secrets)\n/var/lib/disklesstrap/data      boot/ (kernels, initramfs), images/, tftp/ (iPXE, from package ipxe)\n/usr/lib/disklesstrap/initrd    prebuilt agent, helper and u-root commands\n.fi\n.SH SEE ALSO\n/usr/share/doc/disklesstrap/README.md.gz\n'
	} | gzip -9n >"$root/usr/share/man/man$sec/$name.$sec.gz"
}
manpage bootsrv 8 "DisklessTrap boot server" "$root/usr/sbin/bootsrv" --help
manpage trapctl 1 "DisklessTrap admin CLI" "$root/usr/bin/trapctl" help all

sed -e "s/@VERSION@/$version/" -e "s/@SIZE@/$(du -sk --exclude=DEBIAN "$root" | cut -f1)/" "$here/control.in" >"$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$root/DEBIAN/"
(cd "$root" && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"
find "$root" -type d -exec chmod 0755 {} +

mkdir -p "$out"
deb=$out/disklesstrap_${version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "deb: $deb ($(stat -c %s "$deb") bytes)"
