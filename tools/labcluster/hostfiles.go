package labcluster

import (
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/initrd"
)

// CopyFile copies src (following symlinks) to dst with mode, creating
// dst's folder.
func CopyFile(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, mode)
}

// AddHostBinary copies the host's binary src to dst in the image folder
// root, with its shared libraries and ELF interpreter at their own paths
// (a distribution's tool, e.g. iscsid, in the lab's busybox test OS).
func AddHostBinary(root, src, dst string) error {
	libs, err := initrd.ResolveLibraries(src, nil)
	if err != nil {
		return err
	}
	cp := func(from, to string) error {
		fi, err := os.Stat(from)
		if err != nil {
			return err
		}
		return CopyFile(from, filepath.Join(root, to), fi.Mode().Perm())
	}
	if err := cp(src, dst); err != nil {
		return err
	}
	for _, l := range libs {
		if err := cp(l, l); err != nil {
			return err
		}
	}
	return nil
}
