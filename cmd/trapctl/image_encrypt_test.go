package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/anatol/devmapper.go"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/images/rawdisk"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// needCryptsetup skips (or fails under DT_LAB_REQUIRED=1) without cryptsetup.
func needCryptsetup(t *testing.T) {
	t.Helper()
	labreq.Check(t, labreq.Tools("cryptsetup")) // apt-get install cryptsetup-bin
}

// rawImage writes a raw disk image of size bytes of random data with a
// text marker in sector 1 and returns its path and contents.
func rawImage(t *testing.T, dir string, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	rand.Read(b)
	copy(b[512:], "DT-RAW-MARKER plaintext sector")
	p := filepath.Join(dir, "disk.raw")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b
}

// cryptsetupRun runs cryptsetup with stdin and returns its combined output.
func cryptsetupRun(stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("cryptsetup", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var (
	dumpUUIDRE = regexp.MustCompile(`(?m)^UUID:\s+(\S+)`)
	keyslotRE  = regexp.MustCompile(`(?m)^\s+\d+: luks2$`)
	mkDumpRE   = regexp.MustCompile(`(?s)MK dump:\s+(.*)`)
	hexRE      = regexp.MustCompile(`[0-9a-f]{2}`)
)

// checkLUKS verifies an image trapctl wrote, independently of trapctl:
// cryptsetup sees LUKS2 with uuid and one key slot, pass opens it and a
// wrong one does not, and the payload decrypted with the volume key that
// cryptsetup recovers from pass (devmapper.go's userspace dm-crypt) is raw.
func checkLUKS(t *testing.T, file, uuid string, pass, raw []byte) {
	t.Helper()
	dump, err := cryptsetupRun(nil, "luksDump", file)
	if err != nil {
		t.Fatalf("cryptsetup luksDump %s: %v: %s", file, err, dump)
	}
	if !strings.Contains(dump, "Version:       \t2") {
		t.Errorf("luksDump %s: not LUKS2:\n%s", file, dump)
	}
	if m := dumpUUIDRE.FindStringSubmatch(dump); m == nil || m[1] != uuid {
		t.Errorf("luksDump UUID = %v, trapctl printed %s", m, uuid)
	}
	if n := len(keyslotRE.FindAllString(dump, -1)); n != 1 {
		t.Errorf("luksDump shows %d key slots, want 1:\n%s", n, dump)
	}
	if out, err := cryptsetupRun(pass, "open", "--test-passphrase", "--key-file=-", file); err != nil {
		t.Errorf("cryptsetup open --test-passphrase with the stored key: %v: %s", err, out)
	}
	if _, err := cryptsetupRun([]byte("wrong"), "open", "--test-passphrase", "--key-file=-", file); err == nil {
		t.Errorf("cryptsetup open --test-passphrase with a wrong key succeeded")
	}
	vk, err := cryptsetupRun(pass, "luksDump", "--dump-volume-key", "--batch-mode", "--key-file=-", file)
	if err != nil {
		t.Fatalf("luksDump --dump-volume-key: %v", err)
	}
	m := mkDumpRE.FindStringSubmatch(vk)
	if m == nil {
		t.Fatalf("luksDump --dump-volume-key: no MK dump")
	}
	key, err := hex.DecodeString(strings.Join(hexRE.FindAllString(m[1], rawdisk.VolumeKeySize), ""))
	if err != nil || len(key) != rawdisk.VolumeKeySize {
		t.Fatalf("volume key from luksDump: %d bytes, %v", len(key), err)
	}
	v, err := devmapper.OpenUserspaceVolume(os.O_RDONLY, 0, devmapper.CryptTable{
		Length: uint64(len(raw)), BackendDevice: file, BackendOffset: 16 << 20,
		Encryption: rawdisk.Cipher, Key: key, SectorSize: rawdisk.SectorSize})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	got := make([]byte, len(raw))
	if _, err := v.ReadAt(got, 0); err != nil {
		t.Fatalf("userspace decrypt of %s: %v", file, err)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("decrypted payload of %s differs from the raw image", file)
	}
	enc, _ := os.ReadFile(file)
	if bytes.Contains(enc, []byte("DT-RAW-MARKER")) || bytes.Contains(enc, pass) || bytes.Contains(enc, key) {
		t.Errorf("%s holds plaintext, the passphrase or the volume key", file)
	}
}

// outputs lists the files of dir other than the raw image (to find
// leftover images and temp files).
func outputs(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if e.Name() != "disk.raw" && e.Name() != "odd.raw" && !e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

var uuidRE = regexp.MustCompile(`UUID ([0-9a-f-]{36})`)

// TestImageEncrypt encrypts raw images against the real bootsrv API and
// checks the result with cryptsetup, the stored key, and that the key is
// printed nowhere.
func TestImageEncrypt(t *testing.T) {
	needCryptsetup(t)
	url, sdir, _, sec := serverWith(t, nil)
	dir := t.TempDir()
	raw, plain := rawImage(t, dir, 4<<20)
	other := filepath.Join(t.TempDir(), "other.luks")

	tests := []struct {
		name     string
		args     []string
		file     string // encrypted image written
		scope    string // secret scope expected to hold the key
		secret   string
		wantOut  []string
		existing bool // the image file existed before (left in place)
	}{
		{"default", []string{"image", "encrypt", raw, "--name", "disk1"}, filepath.Join(dir, "disk1.luks"),
			secrets.AllNodes, "luks-disk1", []string{"wrote " + filepath.Join(dir, "disk1.luks") + ": 20.0MiB",
				"LUKS2 aes-xts-plain64", "secret luks-disk1 for every node", "inventory: luks_key: luks-disk1",
				"trapctl luks push RANGE disk1\n"}, false},
		{"range, own secret, out", []string{"image", "encrypt", raw, "--name", "disk2", "--secret", "root-key",
			"--range", "cn[001-002]", "--out", other}, other, "cn002", "root-key",
			[]string{"for nodes cn[001-002]", "inventory: luks_key: root-key", "luks push RANGE disk2 --secret root-key"}, false},
		{"force replaces file and secret", []string{"image", "encrypt", raw, "--name", "disk1", "--force"},
			filepath.Join(dir, "disk1.luks"), secrets.AllNodes, "luks-disk1", []string{"inventory: luks_key: luks-disk1"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := trapctl(t, url, tt.args...)
			if err != nil {
				t.Fatalf("trapctl %q = %v (stderr %s)", tt.args, err, stderr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stdout, w) {
					t.Errorf("stdout = %q, want %q", stdout, w)
				}
			}
			if !strings.Contains(stderr, "encrypt  [##############################] 100% 4.0MiB/4.0MiB") {
				t.Errorf("stderr = %q, want a progress line ending at 100%%", stderr)
			}
			m := uuidRE.FindStringSubmatch(stdout)
			if m == nil {
				t.Fatalf("stdout = %q, want the LUKS UUID", stdout)
			}
			pass, err := sec.Get(tt.scope, tt.secret)
			if err != nil {
				t.Fatalf("secret %s/%s not stored: %v", tt.scope, tt.secret, err)
			}
			if len(pass) != 43 {
				t.Errorf("stored passphrase is %d bytes, want 43 (32 random bytes, base64url)", len(pass))
			}
			for what, s := range map[string]string{"stdout": stdout, "stderr": stderr} {
				if strings.Contains(s, string(pass)) {
					t.Errorf("the key appears in trapctl's %s", what)
				}
			}
			st, err := os.Stat(filepath.Join(sdir, "state", "secrets", tt.scope, tt.secret))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Errorf("secret file: %v, mode %v, want 0600", err, st.Mode())
			}
			checkLUKS(t, tt.file, m[1], pass, plain)
			if left := outputs(t, filepath.Dir(tt.file)); strings.Contains(strings.Join(left, " "), ".tmp-") {
				t.Errorf("temp files left: %v", left)
			}
		})
	}
	// Without --range, the other node scopes of "range" stay untouched.
	if _, err := sec.Get("cn003", "root-key"); !errors.Is(err, secrets.ErrNotFound) {
		t.Errorf("root-key stored for cn003 (outside --range): %v", err)
	}
}

// TestImageEncryptRefuses checks each refusal names the problem and leaves
// neither an image file nor a secret behind.
func TestImageEncryptRefuses(t *testing.T) {
	needCryptsetup(t)
	failPut := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				http.Error(w, `{"error":"secret store: disk full"}`, http.StatusInternalServerError)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	url, _, _, sec := serverWith(t, nil)
	badURL, _, _, badSec := serverWith(t, failPut)
	dir := t.TempDir()
	raw, _ := rawImage(t, dir, 1<<20)
	odd := filepath.Join(dir, "odd.raw")
	os.WriteFile(odd, make([]byte, 1000), 0o644)
	if err := sec.Put(secrets.AllNodes, "luks-taken", []byte("an earlier image's key")); err != nil {
		t.Fatal(err)
	}
	emptyPath := t.TempDir()

	tests := []struct {
		name   string
		url    string
		args   []string
		path   string // $PATH ("" = unchanged)
		want   string
		secret string // must not be stored
	}{
		{"missing raw", url, []string{filepath.Join(dir, "none.raw"), "--name", "d"}, "", "none.raw: no such file", "luks-d"},
		{"directory", url, []string{dir, "--name", "d"}, "", "not a regular file", "luks-d"},
		{"odd size", url, []string{odd, "--name", "d"}, "", "size 1000 is not a multiple of 512", "luks-d"},
		{"no name", url, []string{raw}, "", "--name is required", ""},
		{"bad name", url, []string{raw, "--name", "a/b"}, "", "image name", "luks-a"},
		{"name too long", url, []string{raw, "--name", strings.Repeat("n", 60)}, "", "at most 59", "luks-n"},
		{"bad pbkdf", url, []string{raw, "--name", "d", "--pbkdf", "md5"}, "", "--pbkdf", "luks-d"},
		{"unreachable", "http://127.0.0.1:1", []string{raw, "--name", "d"}, "", "bootsrv unreachable", "luks-d"},
		{"no cryptsetup", url, []string{raw, "--name", "d"}, emptyPath, "cryptsetup not found", "luks-d"},
		{"secret taken", url, []string{raw, "--name", "taken"}, "", "already holds secret luks-taken", ""},
		{"unknown range", url, []string{raw, "--name", "d", "--range", "zz9"}, "", "zz9", "luks-d"},
		{"store fails", badURL, []string{raw, "--name", "d"}, "", "storing the key in bootsrv failed, so no image was written", "luks-d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "" {
				t.Setenv("PATH", tt.path)
			}
			_, _, err := trapctl(t, tt.url, append([]string{"image", "encrypt"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("trapctl image encrypt %q = %v, want an error containing %q", tt.args, err, tt.want)
			}
			if left := outputs(t, dir); len(left) > 0 {
				t.Errorf("files left after the refusal: %v", left)
			}
			for _, s := range []*secrets.Store{sec, badSec} {
				if tt.secret == "" {
					continue
				}
				if _, err := s.Get(secrets.AllNodes, tt.secret); !errors.Is(err, secrets.ErrNotFound) {
					t.Errorf("secret %s stored after the refusal (%v)", tt.secret, err)
				}
			}
			if v, _ := sec.Get(secrets.AllNodes, "luks-taken"); string(v) != "an earlier image's key" {
				t.Errorf("the earlier key of luks-taken was replaced")
			}
		})
	}
}
