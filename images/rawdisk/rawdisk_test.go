package rawdisk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anatol/devmapper.go"
	"github.com/anatol/luks.go"
	"github.com/diskfs/go-diskfs/partition/gpt"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	labreq.Skip(t, format, args...)
}

func requireTools(t *testing.T) {
	t.Helper()
	// Loop devices, LVM and LUKS: a lab test (apt-get install lvm2
	// e2fsprogs cryptsetup-bin).
	labreq.Require(t, labreq.Root(), labreq.Tools("mkfs.ext4", "debugfs", "lvm", "losetup", "cryptsetup"),
		labreq.Files("/dev/loop-control"))
}

// extract copies [off, off+size) of src into a new file.
func extract(t *testing.T, src string, off, size int64) string {
	t.Helper()
	b := make([]byte, size)
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatalf("read %s at %d: %v", src, off, err)
	}
	p := filepath.Join(t.TempDir(), "part")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func debugfsCat(t *testing.T, img, path string) string {
	t.Helper()
	out, err := exec.Command("debugfs", "-R", "cat "+path, img).Output()
	if err != nil {
		t.Fatalf("debugfs cat %s in %s: %v", path, img, err)
	}
	return string(out)
}

func TestBuildAndEncrypt(t *testing.T) {
	requireTools(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	rootDir := filepath.Join(dir, "root")
	varDir := filepath.Join(dir, "var")
	os.MkdirAll(filepath.Join(rootDir, "etc"), 0o755)
	os.MkdirAll(filepath.Join(varDir, "lib"), 0o755)
	os.WriteFile(filepath.Join(rootDir, "etc", "hostname"), []byte("rawdisk-root\n"), 0o644)
	os.WriteFile(filepath.Join(varDir, "lib", "marker"), []byte("rawdisk-var\n"), 0o644)

	plain := filepath.Join(dir, "plain.raw")
	start := time.Now()
	lay, err := BuildPlain(ctx, plain, Spec{RootDir: rootDir, VarDir: varDir})
	if err != nil {
		t.Fatalf("BuildPlain: %v", err)
	}
	t.Logf("TIMING plaintext disk %d MiB: %s; layout %+v", lay.Size/MiB, time.Since(start).Round(time.Millisecond), lay)

	// GPT as another reader sees it.
	f, err := os.Open(plain)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := gpt.Read(f, 512, 512)
	f.Close()
	if err != nil {
		t.Fatalf("gpt.Read: %v", err)
	}
	var names []string
	for _, p := range tbl.Partitions {
		if p.Start != 0 {
			names = append(names, p.Name)
		}
	}
	if strings.Join(names, ",") != "root,lvm" {
		t.Errorf("GPT partitions = %v, want root,lvm", names)
	}
	// Partition 1 is the root file system.
	p1 := lay.Partitions[0]
	if got := debugfsCat(t, extract(t, plain, p1.Start, p1.Size), "/etc/hostname"); got != "rawdisk-root\n" {
		t.Errorf("root fs /etc/hostname = %q", got)
	}
	// The LV's extents hold the var file system.
	if got := debugfsCat(t, extract(t, plain, lay.LVStart, lay.LVSize), "/lib/marker"); got != "rawdisk-var\n" {
		t.Errorf("var fs /lib/marker = %q", got)
	}
	// LVM itself finds VG system with LV var on partition 2.
	p2 := lay.Partitions[1]
	out, err := run(ctx, nil, "losetup", "-f", "--show", "-r", "-o", itoa(p2.Start), "--sizelimit", itoa(p2.Size), plain)
	if err != nil {
		t.Fatal(err)
	}
	loop := strings.TrimSpace(out)
	lvs, lerr := run(ctx, nil, "lvm", "lvs", "--config", lvmConfig(loop), "--noheadings", "--units", "b", "-o", "vg_name,lv_name,lv_size,seg_pe_ranges")
	run(ctx, nil, "losetup", "-d", loop)
	if lerr != nil {
		t.Fatalf("lvs: %v", lerr)
	}
	for _, line := range strings.Split(lvs, "\n") {
		if strings.Contains(line, " var ") {
			lvs = line
		}
	}
	if f := strings.Fields(lvs); len(f) != 4 || f[0] != "system" || f[1] != "var" || f[2] != itoa(lay.LVSize)+"B" || !strings.HasSuffix(f[3], ":0-3") {
		t.Errorf("lvs = %q, want system var %dB on extents 0-3", lvs, lay.LVSize)
	}

	// LUKS2 around the whole disk.
	key := make([]byte, VolumeKeySize)
	rand.Read(key)
	pass := []byte("lab-passphrase-" + hex.EncodeToString(key[:4]))
	enc := filepath.Join(dir, "disk.luks")
	start = time.Now()
	info, err := Encrypt(ctx, plain, enc, key, pass, LUKSOptions{})
	if err != nil {
		t.Fatalf("Encrypt: %v", err)
	}
	t.Logf("TIMING LUKS2 format + XTS payload: %s; %+v", time.Since(start).Round(time.Millisecond), info)

	// cryptsetup agrees the volume key is ours.
	dump, err := run(ctx, pass, "cryptsetup", "luksDump", "--dump-volume-key", "--batch-mode", "--key-file", "-", enc)
	if err != nil {
		t.Fatalf("luksDump: %v", err)
	}
	hexKey := hex.EncodeToString(key)
	if !strings.Contains(strings.Join(strings.Fields(strings.ReplaceAll(dump, ":", "")), ""), hexKey) {
		t.Errorf("cryptsetup --dump-volume-key does not show the volume key we chose")
	}
	// luks.go refuses a wrong passphrase and accepts ours.
	dev, err := luks.Open(enc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.UnsealVolume(0, []byte("wrong")); err == nil {
		t.Errorf("UnsealVolume(wrong passphrase) succeeded")
	}
	vol, err := dev.UnsealVolume(0, pass)
	dev.Close()
	if err != nil {
		t.Fatalf("UnsealVolume: %v", err)
	}
	// An independent XTS implementation (devmapper.go's userspace
	// dm-crypt) decrypts the payload back to the plaintext disk.
	want, _ := os.ReadFile(plain)
	// The userspace volume counts bytes; StorageSize 0 means "to the end".
	v, err := devmapper.OpenUserspaceVolume(os.O_RDONLY, 0, devmapper.CryptTable{
		Length: uint64(len(want)), BackendDevice: enc, BackendOffset: vol.StorageOffset,
		Encryption: vol.StorageEncryption, Key: key, SectorSize: vol.StorageSectorSize})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if vol.StorageSize != 0 && vol.StorageSize != uint64(len(want)) {
		t.Errorf("LUKS payload size %d, want %d", vol.StorageSize, len(want))
	}
	got := make([]byte, len(want))
	if _, err := v.ReadAt(got, 0); err != nil {
		t.Fatalf("decrypt: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("decrypted payload differs from the plaintext disk")
	}
	raw, _ := os.ReadFile(enc)
	if bytes.Contains(raw, []byte("rawdisk-root")) || bytes.Contains(raw, []byte("LABELONE")) {
		t.Errorf("encrypted image contains plaintext")
	}
	if bytes.Contains(raw, key) || bytes.Contains(raw, pass) {
		t.Errorf("encrypted image contains the key or the passphrase")
	}
}

func itoa(n int64) string { return strconvI(n) }
