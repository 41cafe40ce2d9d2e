package statelite

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// fill makes dst from origin o: a copy of its file or tree; with no
// origin an empty file (or folder).
func fill(dst string, o *origin, folder bool) (string, error) {
	if o == nil {
		if folder {
			return "created empty", os.MkdirAll(dst, 0o755)
		}
		return "created empty", os.WriteFile(dst, nil, 0o644)
	}
	if err := copyTree(o.path, dst); err != nil {
		return "", err
	}
	return "copied", nil
}

// concat writes the concatenation of every source's file to dst, in
// priority order; with no source, the image's original.
func concat(dst string, all []origin, def *origin) (string, string, error) {
	list := all
	if len(list) == 0 && def != nil {
		list = []origin{*def}
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return "", "", err
	}
	defer out.Close()
	label := ""
	for i, o := range list {
		if i > 0 {
			label += "+"
		}
		label += o.label
		in, err := os.Open(o.path)
		if err != nil {
			return label, "", err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if err != nil {
			return label, "", fmt.Errorf("concatenate %s: %w", o.label, err)
		}
	}
	if len(list) == 0 {
		return "", "created empty", out.Close()
	}
	return label, fmt.Sprintf("concatenated %d", len(list)), out.Close()
}

// copyTree copies a file, symlink or folder (recursively) from src to
// dst, keeping modes and, when it can, owners.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(t, to); err != nil {
				return err
			}
		case fi.IsDir():
			if err := os.MkdirAll(to, fi.Mode().Perm()); err != nil {
				return err
			}
			os.Chmod(to, fi.Mode()&(fs.ModePerm|fs.ModeSticky|fs.ModeSetgid))
		case fi.Mode().IsRegular():
			if err := copyFile(p, to, fi.Mode()); err != nil {
				return err
			}
		default:
			return nil // devices, sockets, fifos: not copied
		}
		chown(to, fi)
		return nil
	})
}

func copyFile(src, dst string, mode fs.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode.Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}
