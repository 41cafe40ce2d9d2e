package inventory

import (
	"fmt"
	"path"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// checkSize accepts a zram size as the agent reads it: a positive number
// of bytes, or with a K/M/G/T suffix (powers of 1024, optional "B"/"iB"),
// e.g. "512M", "2G", "1GiB".
func checkSize(s string) error {
	_, err := manifest.ParseSize(s)
	return err
}

// checkWord accepts a kernel name such as a zram compression algorithm:
// [a-z0-9][a-z0-9_-]*, e.g. "lzo-rle", "zstd", "lz4".
func checkWord(s string) error {
	if s == "" {
		return nil
	}
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_')) {
			return fmt.Errorf("%q: want [a-z0-9][a-z0-9_-]*, e.g. lzo-rle or zstd", s)
		}
	}
	return nil
}

// checkAbsPath accepts a clean absolute path without spaces (an overlay
// mount point inside the new root, e.g. "/" or "/var").
func checkAbsPath(s string) error {
	if err := checkLine(s); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "/") || path.Clean(s) != s {
		return fmt.Errorf("want a clean absolute path such as /var, got %q", s)
	}
	if strings.ContainsAny(s, " \\,") {
		return fmt.Errorf("path %q contains a space, comma or backslash", s)
	}
	return nil
}
