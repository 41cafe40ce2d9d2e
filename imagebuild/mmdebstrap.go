package imagebuild

import (
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/imageprofile"
)

// MmdebstrapArgs returns mmdebstrap's arguments for r into root. With a
// cache folder the .debs are copied in before download and back out after
// install (the recipe of mmdebstrap(1)), so a rebuild downloads only what
// is new. Docs, man pages and locales never reach the disk (dpkg
// path-exclude), which keeps a ramroot image small.
func MmdebstrapArgs(r *imageprofile.Resolved, root, cache string) []string {
	args := []string{
		"--mode=auto",
		"--variant=" + r.Variant.Value,
		"--format=directory",
		"--dpkgopt=path-exclude=/usr/share/doc/*",
		"--dpkgopt=path-include=/usr/share/doc/*/copyright",
		"--dpkgopt=path-exclude=/usr/share/man/*",
		"--dpkgopt=path-exclude=/usr/share/info/*",
		"--dpkgopt=path-exclude=/usr/share/locale/*",
		"--dpkgopt=path-include=/usr/share/locale/locale.alias",
		"--aptopt=Acquire::Retries \"3\"",
	}
	if pk := r.PackageNames(); len(pk) > 0 {
		args = append(args, "--include="+join(pk, ","))
	}
	if cache != "" {
		c := filepath.Clean(cache)
		args = append(args,
			"--skip=download/empty", "--skip=essential/unlink",
			`--setup-hook=mkdir -p "$1"/var/cache/apt/archives/`,
			"--setup-hook=sync-in "+c+" /var/cache/apt/archives/",
			"--customize-hook=sync-out /var/cache/apt/archives "+c,
			`--customize-hook=rm -f "$1"/var/cache/apt/archives/*.deb`,
		)
	}
	return append(args, r.Suite.Value, root, r.Mirror.Value)
}

func join(s []string, sep string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += sep
		}
		out += v
	}
	return out
}
