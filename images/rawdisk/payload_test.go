package rawdisk

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/anatol/devmapper.go"
)

// TestEncryptPayload encrypts payloads of several sizes with several
// worker counts and decrypts them back with devmapper.go's userspace
// dm-crypt (an independent XTS-plain64 reader); no root, no cryptsetup.
func TestEncryptPayload(t *testing.T) {
	const offset = 4096
	tests := []struct {
		name    string
		size    int64
		workers int
	}{
		{"one sector", SectorSize, 0},
		{"one chunk", chunkSize, 2},
		{"partial last chunk", 3*chunkSize + 7*SectorSize, 2},
		{"more workers than chunks", 2*chunkSize + SectorSize, 8},
		{"serial", 5*chunkSize - SectorSize, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			plain := make([]byte, tt.size)
			rand.Read(plain)
			key := make([]byte, VolumeKeySize)
			rand.Read(key)
			in, out := filepath.Join(dir, "plain"), filepath.Join(dir, "enc")
			if err := os.WriteFile(in, plain, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(out, make([]byte, offset+tt.size), 0o600); err != nil {
				t.Fatal(err)
			}
			var calls int
			var last int64
			opts := LUKSOptions{Workers: tt.workers, Progress: func(done, total int64) {
				calls++
				if done < last || total != tt.size {
					t.Errorf("Progress(%d, %d) after %d, want non-decreasing, total %d", done, total, last, tt.size)
				}
				last = done
			}}
			if err := encryptPayload(context.Background(), in, out, key, offset, opts); err != nil {
				t.Fatalf("encryptPayload: %v", err)
			}
			if want := (tt.size + chunkSize - 1) / chunkSize; int64(calls) != want || last != tt.size {
				t.Errorf("Progress called %d times ending at %d, want %d calls ending at %d", calls, last, want, tt.size)
			}
			v, err := devmapper.OpenUserspaceVolume(os.O_RDONLY, 0, devmapper.CryptTable{
				Length: uint64(tt.size), BackendDevice: out, BackendOffset: offset,
				Encryption: Cipher, Key: key, SectorSize: SectorSize})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			got := make([]byte, tt.size)
			if _, err := v.ReadAt(got, 0); err != nil {
				t.Fatalf("decrypt: %v", err)
			}
			if !bytes.Equal(got, plain) {
				t.Errorf("decrypted payload of %d bytes with %d workers differs from the plaintext", tt.size, tt.workers)
			}
			enc, _ := os.ReadFile(out)
			if !bytes.Equal(enc[:offset], make([]byte, offset)) {
				t.Errorf("encryptPayload wrote before offset %d", offset)
			}
		})
	}
}

// TestEncryptPayloadErrors checks a cancelled context and a bad size fail.
func TestEncryptPayloadErrors(t *testing.T) {
	dir := t.TempDir()
	key := make([]byte, VolumeKeySize)
	in, odd, out := filepath.Join(dir, "plain"), filepath.Join(dir, "odd"), filepath.Join(dir, "enc")
	os.WriteFile(in, make([]byte, 4*chunkSize), 0o600)
	os.WriteFile(odd, make([]byte, 1000), 0o600)
	os.WriteFile(out, nil, 0o600)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		name  string
		ctx   context.Context
		plain string
		want  error
	}{
		{"cancelled", cancelled, in, context.Canceled},
		{"odd size", context.Background(), odd, nil},
		{"missing", context.Background(), filepath.Join(dir, "none"), os.ErrNotExist},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := encryptPayload(tt.ctx, tt.plain, out, key, 0, LUKSOptions{})
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("encryptPayload(%s) = %v, want an error (%v)", tt.name, err, tt.want)
			}
		})
	}
}
