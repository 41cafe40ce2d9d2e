// Package treesnap describes a folder tree as text (every path with its
// type and mode, file contents and link targets), so a test can check
// byte for byte that something left a folder untouched.
package treesnap

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Of returns the description of the tree at dir, symlinks not followed.
func Of(dir string) (string, error) {
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(&b, "%s %v", rel, fi.Mode())
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " -> %s", l)
		case fi.Mode().IsRegular():
			c, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %q", c)
		}
		b.WriteString("\n")
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("snapshot %s: %w", dir, err)
	}
	return b.String(), nil
}
