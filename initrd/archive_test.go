package initrd

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/u-root/u-root/pkg/cpio"
)

func writeRawCPIO(t *testing.T, file string, recs []cpio.Record) {
	t.Helper()
	var buf bytes.Buffer
	w := cpio.Newc.Writer(&buf)
	for _, r := range recs {
		if err := w.WriteRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := cpio.WriteTrailer(w); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// hostish returns records as a host-side cpio would: unsorted, with times,
// owners, inodes and odd modes.
func hostish(mtime uint64) []cpio.Record {
	f := cpio.StaticFile("usr/bin/tool", "tool", 0o700)
	f.MTime, f.UID, f.GID, f.Ino, f.NLink, f.Dev = mtime, 1000, 1000, 4242, 3, 2049
	g := cpio.StaticFile("/etc/conf", "conf", 0o600)
	g.MTime = mtime + 7
	d := cpio.Directory("usr", 0o755)
	d.MTime = mtime
	return []cpio.Record{f, g, d, cpio.Directory("etc", 0o755), cpio.Directory("usr/bin", 0o755)}
}

func TestWriteNormalized(t *testing.T) {
	dir := t.TempDir()
	for _, comp := range []Compression{CompressZstd, CompressGzip, CompressNone} {
		t.Run(string(comp), func(t *testing.T) {
			var sums []string
			for i, mtime := range []uint64{1700000000, 1800000000} {
				raw := filepath.Join(dir, "raw.cpio")
				writeRawCPIO(t, raw, hostish(mtime))
				out := filepath.Join(dir, string(comp)+".img")
				extra := []cpio.Record{cpio.Symlink("bin/sh", "busybox")}
				n, err := writeNormalized(raw, out, comp, extra)
				if err != nil {
					t.Fatalf("writeNormalized #%d: %v", i, err)
				}
				sums = append(sums, n.sha256)
				want := "/bin/sh /etc /etc/conf /usr /usr/bin /usr/bin/tool"
				if got := strings.Join(n.files, " "); got != want {
					t.Errorf("files = %q, want %q", got, want)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if int64(len(b)) != n.size {
					t.Errorf("size = %d, file has %d bytes", n.size, len(b))
				}
				if comp == CompressZstd && !bytes.HasPrefix(b, []byte{0x28, 0xb5, 0x2f, 0xfd}) {
					t.Errorf("zstd image starts % x: want the zstd frame magic", b[:4])
				}
				if comp == CompressGzip {
					if b[0] != 0x1f || b[1] != 0x8b || b[3] != 0 || !bytes.Equal(b[4:8], []byte{0, 0, 0, 0}) {
						t.Errorf("gzip header % x: want magic, no flags (no name), zero mtime", b[:10])
					}
				}
				recs, err := ReadArchive(out)
				if err != nil {
					t.Fatalf("ReadArchive: %v", err)
				}
				for j, r := range recs {
					if r.MTime != 0 || r.UID != 0 || r.GID != 0 || r.Dev != 0 || r.Ino != uint64(j+1) {
						t.Errorf("%s: %v; want zero time/owner/dev and ino %d", r.Name, r.Info, j+1)
					}
					if r.Mode&cpio.S_IFMT == cpio.S_IFREG && r.NLink != 1 {
						t.Errorf("%s: nlink %d, want 1", r.Name, r.NLink)
					}
				}
				modes := map[string]uint64{}
				for _, r := range recs {
					modes[r.Name] = r.Mode
				}
				if modes["usr/bin/tool"] != cpio.S_IFREG|0o755 || modes["etc/conf"] != cpio.S_IFREG|0o644 {
					t.Errorf("modes tool %o conf %o, want 100755 100644", modes["usr/bin/tool"], modes["etc/conf"])
				}
			}
			if sums[0] != sums[1] {
				t.Errorf("host mtimes leaked into the image: %s != %s", sums[0], sums[1])
			}
		})
	}
}

func TestNormalizeRecordsDuplicate(t *testing.T) {
	_, err := normalizeRecords([]cpio.Record{
		cpio.StaticFile("bin/a", "1", 0o644),
		cpio.Symlink("/bin/a", "b"),
	})
	if err == nil || !strings.Contains(err.Error(), "/bin/a twice") {
		t.Errorf("normalizeRecords(duplicate) error = %v, want one naming /bin/a", err)
	}
}

func TestReadArchiveErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string][]byte{
		"empty":    nil,
		"garbage":  []byte("this is not a cpio archive at all"),
		"bad-gzip": {0x1f, 0x8b, 8, 0, 0, 0},
	} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if recs, err := ReadArchive(p); err == nil {
			t.Errorf("ReadArchive(%s) = %d records, want an error", name, len(recs))
		}
	}
}
