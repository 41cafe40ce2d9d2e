package rawdisk

import (
	"context"
	"crypto/aes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/anatol/luks.go"
	"golang.org/x/crypto/xts"
)

// LUKS parameters of the encrypted image.
const (
	Cipher        = "aes-xts-plain64"
	VolumeKeySize = 64 // bytes: AES-256 in XTS mode
	SectorSize    = 512
)

// LUKSOptions tune luksFormat.
type LUKSOptions struct {
	// PBKDF is "pbkdf2" (default: cheap to open in an emulated guest) or
	// "argon2id" (cryptsetup's default; needs up to 1 GiB of guest RAM).
	PBKDF string
	// Iterations forces the PBKDF2 iteration count (default 1000: test
	// images only; production images should let cryptsetup benchmark).
	Iterations int
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
	if err := encryptPayload(plain, out, volumeKey, info.PayloadOffset); err != nil {
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
	cmd.Stdin = strings.NewReader(string(passphrase))
	cmd.ExtraFiles = []*os.File{r}
	var buf strings.Builder
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
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

// encryptPayload encrypts plain into out at offset with AES-XTS-plain64:
// each 512-byte sector n (counted from the payload start) is encrypted
// with tweak n, little-endian — dm-crypt's plain64 IV.
func encryptPayload(plain, out string, key []byte, offset int64) error {
	c, err := xts.NewCipher(aes.NewCipher, key)
	if err != nil {
		return err
	}
	in, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.OpenFile(out, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	buf := make([]byte, MiB)
	enc := make([]byte, MiB)
	var pos int64
	for {
		n, rerr := io.ReadFull(in, buf)
		if n%SectorSize != 0 {
			o.Close()
			return fmt.Errorf("rawdisk: %s: short read of %d bytes", plain, n)
		}
		for s := 0; s < n; s += SectorSize {
			c.Encrypt(enc[s:s+SectorSize], buf[s:s+SectorSize], uint64((pos+int64(s))/SectorSize))
		}
		if _, err := o.WriteAt(enc[:n], offset+pos); err != nil {
			o.Close()
			return fmt.Errorf("rawdisk: write %s: %w", out, err)
		}
		pos += int64(n)
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			o.Close()
			return fmt.Errorf("rawdisk: read %s: %w", plain, rerr)
		}
	}
	return o.Close()
}
