package rawdisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/anatol/luks.go"
)

// LUKS parameters of the encrypted image.
const (
	Cipher        = "aes-xts-plain64"
	VolumeKeySize = 64 // bytes: AES-256 in XTS mode
	SectorSize    = 512
)

// ErrNoCryptsetup is returned when cryptsetup is not in $PATH.
var ErrNoCryptsetup = errors.New("rawdisk: cryptsetup not found in $PATH (apt-get install cryptsetup-bin)")

// CheckCryptsetup returns ErrNoCryptsetup when Encrypt cannot run
// cryptsetup; callers use it to fail before any expensive work.
func CheckCryptsetup() error {
	if _, err := exec.LookPath("cryptsetup"); err != nil {
		return ErrNoCryptsetup
	}
	return nil
}

// LUKSOptions tune luksFormat.
type LUKSOptions struct {
	// PBKDF is "pbkdf2" (default: cheap to open in an emulated guest) or
	// "argon2id" (cryptsetup's default; needs up to 1 GiB of guest RAM).
	PBKDF string
	// Iterations forces the PBKDF2 iteration count (default 1000: test
	// images only; production images should let cryptsetup benchmark).
	Iterations int
	// Progress, when set, is called as the payload is encrypted with the
	// bytes done so far and the payload size (calls are serialised and
	// done never decreases).
	Progress func(done, total int64)
	// Workers is how many goroutines encrypt the payload (default
	// GOMAXPROCS).
	Workers int
}

// LUKSInfo describes the encrypted image.
type LUKSInfo struct {
	UUID          string
	PayloadOffset int64 // bytes
	PayloadSize   int64 // bytes
}

// Encrypt writes out = LUKS2 header + AES-XTS-plain64(plain), with
// volumeKey as the volume (master) key and passphrase in key slot 0.
func Encrypt(ctx context.Context, plain, out string, volumeKey, passphrase []byte, opts LUKSOptions) (*LUKSInfo, error) {
	if len(volumeKey) != VolumeKeySize {
		return nil, fmt.Errorf("rawdisk: volume key is %d bytes, want %d", len(volumeKey), VolumeKeySize)
	}
	if len(passphrase) == 0 {
		return nil, errors.New("rawdisk: empty passphrase")
	}
	st, err := os.Stat(plain)
	if err != nil {
		return nil, err
	}
	if st.Size()%SectorSize != 0 {
		return nil, fmt.Errorf("rawdisk: %s: size %d is not a multiple of %d", plain, st.Size(), SectorSize)
	}
	if opts.PBKDF == "" {
		opts.PBKDF = "pbkdf2"
	}
	if opts.Iterations == 0 && opts.PBKDF == "pbkdf2" {
		opts.Iterations = 1000
	}
	const headerSize = 16 * MiB // LUKS2 default data offset
	if err := os.WriteFile(out, nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Truncate(out, headerSize+st.Size()); err != nil {
		return nil, err
	}
	if err := luksFormat(ctx, out, volumeKey, passphrase, opts); err != nil {
		return nil, err
	}
	dev, err := luks.Open(out)
	if err != nil {
		return nil, fmt.Errorf("rawdisk: open LUKS header of %s: %w", out, err)
	}
	defer dev.Close()
	vol, err := dev.UnsealVolume(0, passphrase)
	if err != nil {
		return nil, fmt.Errorf("rawdisk: unseal slot 0 of %s: %w", out, err)
	}
	if vol.StorageEncryption != Cipher || vol.StorageSectorSize != SectorSize || vol.StorageIvTweak != 0 {
		return nil, fmt.Errorf("rawdisk: %s: header says %s, %d-byte sectors, IV tweak %d; want %s, %d, 0",
			out, vol.StorageEncryption, vol.StorageSectorSize, vol.StorageIvTweak, Cipher, SectorSize)
	}
	info := &LUKSInfo{UUID: dev.UUID(), PayloadOffset: int64(vol.StorageOffset), PayloadSize: st.Size()}
	if err := encryptPayload(ctx, plain, out, volumeKey, info.PayloadOffset, opts); err != nil {
		return nil, err
	}
	return info, nil
}

// luksFormat runs cryptsetup luksFormat: the passphrase on stdin
// (--key-file=-), the volume key through a pipe on fd 3.
func luksFormat(ctx context.Context, out string, volumeKey, passphrase []byte, opts LUKSOptions) error {
	args := []string{"luksFormat", "--batch-mode", "--type", "luks2", "--cipher", Cipher,
		"--key-size", fmt.Sprint(VolumeKeySize * 8), "--sector-size", fmt.Sprint(SectorSize),
		"--volume-key-file", "/dev/fd/3", "--key-file", "-", "--pbkdf", opts.PBKDF}
	if opts.Iterations > 0 {
		args = append(args, "--pbkdf-force-iterations", fmt.Sprint(opts.Iterations))
	}
	args = append(args, out)
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "cryptsetup", args...)
	cmd.Stdin = bytes.NewReader(passphrase) // no string copy: the caller zeroes passphrase
	cmd.ExtraFiles = []*os.File{r}
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		if errors.Is(err, exec.ErrNotFound) {
			return ErrNoCryptsetup
		}
		return fmt.Errorf("rawdisk: cryptsetup: %w", err)
	}
	r.Close()
	_, werr := w.Write(volumeKey)
	w.Close()
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("rawdisk: cryptsetup luksFormat %s: %w: %s", out, err, strings.TrimSpace(buf.String()))
	}
	if werr != nil {
		return fmt.Errorf("rawdisk: volume key pipe: %w", werr)
	}
	return nil
}
