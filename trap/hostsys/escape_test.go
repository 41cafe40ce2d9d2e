package hostsys

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/treesnap"
)

func snapshot(t testing.TB, dir string) string {
	t.Helper()
	s, err := treesnap.Of(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// entry is one tar entry: type 'f' file, 'd' folder, 'l' symlink, 'h' hard link.
type entry struct {
	typ        byte
	name, data string
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644}
		switch e.typ {
		case 'f':
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		case 'd':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		case 'l':
			h.Typeflag, h.Linkname = tar.TypeSymlink, e.data
		case 'h':
			h.Typeflag, h.Linkname = tar.TypeLink, e.data
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == 'f' {
			tw.Write([]byte(e.data))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestUnpackStaysInside: archives that try to write outside the target
// through symlinks, "..", absolute names or hard links either fail (the
// error naming the entry) or stay inside; the outside folder is left
// byte-for-byte as it was. The first case wrote outside/pwned before
// UnpackTar went through os.Root.
func TestUnpackStaysInside(t *testing.T) {
	tests := []struct {
		name    string
		entries func(outside string) []entry
		failOn  string // the entry named in the error; "" when the archive unpacks
	}{
		{"symlink to an absolute folder, then a file through it", func(o string) []entry {
			return []entry{{'l', "x", o}, {'f', "x/pwned", "owned"}}
		}, "x/pwned"},
		{"relative symlink out, then a file through it", func(o string) []entry {
			return []entry{{'d', "a/", ""}, {'l', "a/up", "../../../../../../../../.." + o}, {'f', "a/up/pwned", "owned"}}
		}, "a/up/pwned"},
		{"symlink, then a folder through it", func(o string) []entry {
			return []entry{{'l', "x", o}, {'d', "x/sub/", ""}}
		}, "x/sub/"},
		{"symlink to an outside file, then a hard link to it and chmod", func(o string) []entry {
			return []entry{{'l', "x", o + "/keep"}, {'h', "y", "x"}}
		}, "y"},
		{"dot-dot and absolute names are cleaned into the target", func(o string) []entry {
			return []entry{{'f', "../../../../../../../.." + o + "/pwned", "owned"}, {'f', o + "/pwned2", "owned"}}
		}, ""},
		{"hard link to an outside path is cleaned into the target", func(o string) []entry {
			return []entry{{'f', "in", "x"}, {'h', "y", "../../../../../../.." + o + "/keep"}}
		}, "y"},
		{"file over a symlink to an outside file replaces the link", func(o string) []entry {
			return []entry{{'l', "x", o + "/keep"}, {'f', "x", "mine"}}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			outside := t.TempDir()
			if err := os.WriteFile(filepath.Join(outside, "keep"), []byte("keep\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, outside)
			dst := t.TempDir()
			err := UnpackTar(context.Background(), bytes.NewReader(tarOf(t, tt.entries(outside)...)), dst)
			switch {
			case tt.failOn == "" && err != nil:
				t.Errorf("UnpackTar = %v, want nil", err)
			case tt.failOn != "" && (err == nil || !strings.Contains(err.Error(), fmt.Sprintf("entry %q", tt.failOn))):
				t.Errorf("UnpackTar = %v, want an error naming entry %q", err, tt.failOn)
			}
			if after := snapshot(t, outside); after != before {
				t.Errorf("outside folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// FuzzUnpackTar: whatever the archive, unpacking into a folder leaves its
// sibling folder byte-for-byte untouched (errors are fine).
func FuzzUnpackTar(f *testing.F) {
	t := &testing.T{}
	f.Add(tarOf(t, entry{'l', "x", "../outside"}, entry{'f', "x/pwned", "owned"}))
	f.Add(tarOf(t, entry{'l', "x", "../outside/keep"}, entry{'h', "y", "x"}))
	f.Add(tarOf(t, entry{'d', "a/", ""}, entry{'l', "a/b", "/"}, entry{'f', "a/b/c", "x"}))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !smallEntries(data) {
			return // sparse headers read back as NULs: a tiny archive can name terabytes
		}
		top := t.TempDir()
		outside, dst := filepath.Join(top, "outside"), filepath.Join(top, "target")
		os.Mkdir(outside, 0o755)
		os.Mkdir(dst, 0o755)
		os.WriteFile(filepath.Join(outside, "keep"), []byte("keep\n"), 0o600)
		before := snapshot(t, outside)
		_ = UnpackTar(context.Background(), bytes.NewReader(data), dst)
		if after := snapshot(t, outside); after != before {
			t.Fatalf("outside folder changed:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})
}

// smallEntries reports whether every entry of a tar stream claims at most 1 MiB.
func smallEntries(data []byte) bool {
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err != nil {
			return true
		}
		if h.Size > 1<<20 {
			return false
		}
	}
}
