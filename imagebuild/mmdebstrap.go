package imagebuild

import (
	"path/filepath"
	"strings"

	"github.com/disklesstrap/disklesstrap/imageprofile"
)

// MmdebstrapArgs returns mmdebstrap's arguments for the first layer of
// r's image (pkgs on r's variant) into root. The package lists are kept
// (the layers above install with apt from them; the scrub step removes
// them from the image). With a cache folder the .debs are copied in before download and back out after
// install (the recipe of mmdebstrap(1)), so a rebuild downloads only what
// is new. Docs, man pages and locales never reach the disk (dpkg
// path-exclude), which keeps a ramroot image small.
func MmdebstrapArgs(r *imageprofile.Resolved, pkgs []string, root, cache string) []string {
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
		"--skip=cleanup/apt/lists",
	}
	if len(pkgs) > 0 {
		args = append(args, "--include="+strings.Join(pkgs, ","))
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
