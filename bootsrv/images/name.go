package images

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// MaxNameLen bounds image names (they become file names and URL paths).
const MaxNameLen = 128

// Formats are the image formats, in documentation order; each is also the
// image file's extension.
var Formats = []string{manifest.FormatSquashfs, manifest.FormatTar, manifest.FormatTarZstd}

// Errors the registry's callers tell apart with errors.Is.
var (
	ErrNotFound = errors.New("not in the image registry")
	ErrExists   = errors.New("already in the image registry")
	ErrInvalid  = errors.New("invalid")
	// ErrBadRecord is a record file that cannot be read or is
	// inconsistent (hand-edited, truncated).
	ErrBadRecord = errors.New("unreadable record")
)

// invalidError is an input error: errors.Is(err, ErrInvalid) holds.
type invalidError struct{ msg string }

func (e *invalidError) Error() string        { return e.msg }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// CheckName validates an image name: [a-z0-9][a-z0-9._-]*, at most
// MaxNameLen bytes.
func CheckName(name string) error {
	if name == "" {
		return invalidf("image name is empty")
	}
	if len(name) > MaxNameLen {
		return invalidf("image name %.20q...: longer than %d bytes", name, MaxNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || c == '.' || c == '_' || c == '-'
		}
		if !ok {
			return invalidf("image name %q: want [a-z0-9][a-z0-9._-]*", name)
		}
	}
	return nil
}

// CheckFormat validates an image format ("squashfs", "tar", "tar.zst").
func CheckFormat(format string) error {
	for _, f := range Formats {
		if f == format {
			return nil
		}
	}
	return invalidf("image format %q: want squashfs, tar or tar.zst", format)
}

// CheckSHA256 validates a hex SHA-256 digest (64 lowercase hex digits).
func CheckSHA256(s string) error {
	if len(s) != 64 {
		return invalidf("sha256 %q: want 64 lowercase hex digits", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return invalidf("sha256 %q: want 64 lowercase hex digits", s)
		}
	}
	return nil
}

// sniffLen is how many leading bytes checkMagic needs.
const sniffLen = 512

// checkMagic reports whether head (the file's first bytes, up to
// sniffLen) looks like format: squashfs starts with "hsqs", zstd with
// 28 b5 2f fd, and a tar header has "ustar" at offset 257 (an empty tar,
// all zeros, is accepted too).
func checkMagic(format string, head []byte) error {
	switch format {
	case manifest.FormatSquashfs:
		if !bytes.HasPrefix(head, []byte("hsqs")) {
			return fmt.Errorf("not a squashfs image (no \"hsqs\" magic at offset 0)")
		}
	case manifest.FormatTarZstd:
		if !bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
			return fmt.Errorf("not a zstd stream (no 28 b5 2f fd magic at offset 0)")
		}
	case manifest.FormatTar:
		if len(head) < sniffLen {
			return fmt.Errorf("not a tar archive (%d bytes, shorter than one header)", len(head))
		}
		if !bytes.Equal(head[257:262], []byte("ustar")) && !allZero(head) {
			return fmt.Errorf("not a tar archive (no \"ustar\" magic at offset 257)")
		}
	}
	return nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
