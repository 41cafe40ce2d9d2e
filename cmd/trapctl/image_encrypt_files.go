package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/disklesstrap/disklesstrap/images/rawdisk"
)

// Files of trapctl image encrypt: the raw input and the published output.

// checkRaw returns the size of a raw disk image, or an error naming what
// is wrong with it.
func checkRaw(raw string) (int64, error) {
	st, err := os.Stat(raw)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0, fmt.Errorf("image encrypt: raw image %s: no such file", raw)
	case err != nil:
		return 0, fmt.Errorf("image encrypt: raw image %s: %w", raw, err)
	case !st.Mode().IsRegular():
		return 0, fmt.Errorf("image encrypt: raw image %s: not a regular file (%s)", raw, st.Mode().Type())
	case st.Size() == 0:
		return 0, fmt.Errorf("image encrypt: raw image %s: empty", raw)
	case st.Size()%rawdisk.SectorSize != 0:
		return 0, fmt.Errorf("image encrypt: raw image %s: size %d is not a multiple of %d bytes", raw, st.Size(), rawdisk.SectorSize)
	}
	return st.Size(), nil
}

func sameFile(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}

// publish moves tmp to out: over an existing out only when force
// (otherwise a hard link, which fails if out appeared meanwhile).
func publish(tmp, out string, force bool) error {
	if force {
		return os.Rename(tmp, out)
	}
	if err := os.Link(tmp, out); err != nil {
		return err
	}
	return os.Remove(tmp)
}
