package inventory

import (
	"fmt"
	"path"
	"strconv"
	"strings"
)

// checkSize accepts a zram size as the agent reads it: a positive number
// of bytes, or with a K/M/G/T suffix (powers of 1024, optional "B"/"iB"),
// e.g. "512M", "2G", "1GiB".
func checkSize(s string) error {
	u := strings.ToUpper(strings.TrimSpace(s))
	u = strings.TrimSuffix(u, "IB")
	u = strings.TrimSuffix(u, "B")
	shift := 0
	if n := len(u); n > 0 {
		if i := strings.IndexByte("KMGT", u[n-1]); i >= 0 {
			shift = 10 * (i + 1)
			u = u[:n-1]
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 || u[0] == '+' {
		return fmt.Errorf("size %q: want a positive number of bytes or a K/M/G/T suffix, e.g. 2G", s)
	}
	if n > (1<<62)>>shift {
		return fmt.Errorf("size %q: too large", s)
	}
	return nil
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
