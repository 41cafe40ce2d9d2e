package hostsys

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/imagepack"
)

func TestRunnerError(t *testing.T) {
	_, err := Runner{}.Run(context.Background(), "sh", "-c", "echo boom >&2; exit 3")
	if err == nil || !strings.Contains(err.Error(), "sh -c echo boom >&2; exit 3: exit status 3: boom") {
		t.Errorf("Run = %v, want the command, status and output", err)
	}
}

func TestWriteFileMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	for _, mode := range []uint32{0o600, 0o755} {
		if err := (Sys{}).WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); uint32(fi.Mode().Perm()) != mode {
			t.Errorf("WriteFile mode %o: file has %o", mode, fi.Mode().Perm())
		}
	}
	if err := (Sys{}).Remove(filepath.Join(t.TempDir(), "missing")); err != nil {
		t.Errorf("Remove(missing) = %v, want nil", err)
	}
}

// TestUnpackRoundTrip packs a folder with imagepack (tar and tar.zst) and
// unpacks it with Sys.Unpack.
func TestUnpackRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	os.MkdirAll(filepath.Join(src, "etc/empty"), 0o755)
	os.WriteFile(filepath.Join(src, "etc/hello"), []byte("hello\n"), 0o640)
	os.Symlink("hello", filepath.Join(src, "etc/link"))
	os.Link(filepath.Join(src, "etc/hello"), filepath.Join(src, "etc/hard"))
	for _, format := range []string{"tar", "tar.zst"} {
		t.Run(format, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			if _, err := imagepack.Pack(context.Background(), src, img, imagepack.Options{Format: format}); err != nil {
				t.Fatal(err)
			}
			dst := t.TempDir()
			if err := (Sys{}).Unpack(context.Background(), img, format, dst); err != nil {
				t.Fatalf("Unpack: %v", err)
			}
			if b, err := os.ReadFile(filepath.Join(dst, "etc/hard")); err != nil || string(b) != "hello\n" {
				t.Errorf("etc/hard = %q, %v", b, err)
			}
			if l, err := os.Readlink(filepath.Join(dst, "etc/link")); err != nil || l != "hello" {
				t.Errorf("etc/link -> %q, %v", l, err)
			}
			if fi, err := os.Stat(filepath.Join(dst, "etc/hello")); err != nil || fi.Mode().Perm() != 0o640 {
				t.Errorf("etc/hello mode %v, %v; want 0640", fi.Mode(), err)
			}
			if fi, err := os.Stat(filepath.Join(dst, "etc/empty")); err != nil || !fi.IsDir() {
				t.Errorf("etc/empty: %v", err)
			}
		})
	}
	if err := (Sys{}).Unpack(context.Background(), "/nonexistent", "tar", t.TempDir()); err == nil {
		t.Errorf("Unpack of a missing file: no error")
	}
}
