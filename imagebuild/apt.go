package imagebuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
)

// aptScript installs packages into a root made by mmdebstrap the way
// mmdebstrap's own install stage does: the host's apt with the root as
// its Dir and DPkg::Chroot-Directory (maintainer scripts run in the
// root), the root's sources, dpkg filters and package lists, no
// recommends, no removals, services kept from starting (policy-rc.d).
// It runs in a private mount namespace (unshare -m): /proc, /sys and the
// .deb cache are mounted for it alone and vanish with it, also on
// failure. Arguments: ROOT CACHE ("-": none) PACKAGE...
const aptScript = `set -eu
root=$1 cache=$2; shift 2
mount -t proc proc "$root/proc"
mount --rbind /sys "$root/sys"
if [ "$cache" != - ]; then
	mkdir -p "$cache/partial" "$root/var/cache/apt/archives"
	mount --bind "$cache" "$root/var/cache/apt/archives"
fi
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
conf=$(mktemp "$root/tmp/dt-apt.XXXXXX")
trusted= trustedparts=
eval "$(apt-config shell trusted Dir::Etc::Trusted/f)"
eval "$(apt-config shell trustedparts Dir::Etc::TrustedParts/d)"
arch=$(dpkg --print-architecture)
cat >"$conf" <<END
Apt::Architecture "$arch";
Apt::Architectures "$arch";
Dir "$root";
Dir::State::Status "$root/var/lib/dpkg/status";
Dir::Etc::Trusted "$trusted";
Dir::Etc::TrustedParts "$trustedparts";
Apt::Install-Recommends false;
DPkg::Chroot-Directory "$root";
Dir::Bin::dpkg "env";
DPkg::Options { "--unset=TMPDIR"; "dpkg"; };
END
export APT_CONFIG="$conf" TMPDIR="$root/tmp"
apt-get --yes --no-remove install "$@"
if [ "$cache" = - ]; then apt-get clean; fi
rm -f "$conf" "$root/usr/sbin/policy-rc.d"
`

// aptInstall installs pkgs into root (a tree made by mmdebstrap, with its
// package lists), downloads kept in the build's cache.
func (b *build) aptInstall(ctx context.Context, root string, pkgs []string) error {
	cache := "-"
	if b.opt.Cache != "" {
		cache = b.opt.Cache
	}
	args := append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", aptScript, "dt-apt", root, cache}, pkgs...)
	fmt.Fprintf(b.log, "$ unshare --mount --propagation private sh -c APT %s %s %s\n", root, cache, strings.Join(pkgs, " "))
	var out bytes.Buffer
	if err := b.opt.Runner.Run(ctx, teeWriter{b.log, &out}, b.env(), "unshare", args...); err != nil {
		return b.packageError(out.Bytes(), fmt.Errorf("apt-get install %s: %w", strings.Join(pkgs, " "), err))
	}
	return nil
}

// copyTree copies a layer to dst (owners, modes, links, hard links,
// extended attributes, times).
func (b *build) copyTree(ctx context.Context, src, dst string) error {
	if err := os.RemoveAll(dst); err != nil {
		return err
	}
	args := []string{"-a", "--reflink=auto", src, dst}
	fmt.Fprintf(b.log, "$ %s\n", cmdline("cp", args...))
	return b.opt.Runner.Run(ctx, b.log, nil, "cp", args...)
}
