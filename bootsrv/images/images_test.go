package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// fakeSquashfs is bytes that pass the squashfs magic check.
func fakeSquashfs(n int) []byte {
	b := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	copy(b, "hsqs")
	return b
}

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func open(t *testing.T) *Registry {
	t.Helper()
	r, err := Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	r.Now = func() time.Time { return time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC) }
	return r
}

// leftovers lists files other than NAME.json / NAME.FORMAT pairs.
func leftovers(t *testing.T, r *Registry) []string {
	t.Helper()
	ents, err := os.ReadDir(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestPutGetListDelete(t *testing.T) {
	r := open(t)
	data := fakeSquashfs(3 << 20)
	rec, err := r.Put(Record{Name: "os", Format: "squashfs", SHA256: sum(data), Size: int64(len(data)), Files: 7, Source: "test"}, bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if rec.Size != int64(len(data)) || rec.Created.IsZero() || rec.Files != 7 {
		t.Errorf("Put record = %+v", rec)
	}
	got, err := os.ReadFile(filepath.Join(r.Dir(), "os.squashfs"))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("os.squashfs: %d bytes, %v; want the upload", len(got), err)
	}
	if g, err := r.Get("os"); err != nil || g != rec {
		t.Errorf("Get(os) = %+v, %v, want %+v", g, err, rec)
	}
	// Size unknown (0) is fine too; a tar of zeros is a valid empty tar.
	tarData := make([]byte, 10240)
	if _, err := r.Put(Record{Name: "empty.tar-1", Format: "tar", SHA256: sum(tarData)}, bytes.NewReader(tarData)); err != nil {
		t.Fatalf("Put(empty tar): %v", err)
	}
	list, err := r.List()
	if err != nil || len(list) != 2 || list[0].Name != "empty.tar-1" || list[1].Name != "os" {
		t.Errorf("List() = %+v, %v, want empty.tar-1, os", list, err)
	}
	f, frec, err := r.File("os")
	if err != nil || frec != rec {
		t.Fatalf("File(os) = %+v, %v", frec, err)
	}
	f.Close()
	if _, err := r.Put(Record{Name: "os", Format: "squashfs", SHA256: sum(data)}, bytes.NewReader(data)); !errors.Is(err, ErrExists) {
		t.Errorf("Put(existing) = %v, want ErrExists", err)
	}
	// Replace with another format: the old file goes.
	zst := append([]byte{0x28, 0xb5, 0x2f, 0xfd}, "payload"...)
	if _, err := r.Replace(Record{Name: "os", Format: "tar.zst", SHA256: sum(zst)}, bytes.NewReader(zst)); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.Dir(), "os.squashfs")); !os.IsNotExist(err) {
		t.Errorf("os.squashfs after replace with tar.zst: %v, want gone", err)
	}
	if g, _ := r.Get("os"); g.Format != "tar.zst" || g.Size != int64(len(zst)) {
		t.Errorf("Get(os) after replace = %+v", g)
	}
	if _, err := r.Delete("os"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := r.Get("os"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete = %v, want ErrNotFound", err)
	}
	if _, err := r.Delete("os"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete twice = %v, want ErrNotFound", err)
	}
	ents, _ := os.ReadDir(r.Dir())
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"empty.tar-1.json", "empty.tar-1.tar"}; !slices.Equal(names, want) {
		t.Errorf("folder = %v, want %v", names, want)
	}
}

func TestPutRejects(t *testing.T) {
	data := fakeSquashfs(100 << 10)
	good := sum(data)
	other := sum([]byte("other"))
	for _, tc := range []struct {
		name string
		rec  Record
		body io.Reader
		want string // in the error
		is   error
		as   bool // *MismatchError
	}{
		{"sha256", Record{Name: "a", Format: "squashfs", SHA256: other}, bytes.NewReader(data), "sha256 mismatch: declared " + other + ", upload has " + good, nil, true},
		{"short", Record{Name: "a", Format: "squashfs", SHA256: good, Size: int64(len(data)) + 1}, bytes.NewReader(data), "size mismatch", nil, true},
		{"long", Record{Name: "a", Format: "squashfs", SHA256: good, Size: 10}, bytes.NewReader(data), "more than 10 bytes", nil, true},
		{"format", Record{Name: "a", Format: "tar.zst", SHA256: good}, bytes.NewReader(data), "not a zstd stream", nil, true},
		{"tar", Record{Name: "a", Format: "tar", SHA256: good}, bytes.NewReader(data), "not a tar archive", nil, true},
		{"name", Record{Name: "A", Format: "squashfs", SHA256: good}, bytes.NewReader(data), "want [a-z0-9]", ErrInvalid, false},
		{"dotname", Record{Name: ".upload-x", Format: "squashfs", SHA256: good}, bytes.NewReader(data), "want [a-z0-9]", ErrInvalid, false},
		{"badformat", Record{Name: "a", Format: "iso", SHA256: good}, bytes.NewReader(data), "want squashfs, tar or tar.zst", ErrInvalid, false},
		{"badsha", Record{Name: "a", Format: "squashfs", SHA256: strings.ToUpper(good)}, bytes.NewReader(data), "64 lowercase hex", ErrInvalid, false},
		{"cut", Record{Name: "a", Format: "squashfs", SHA256: good}, iotest.TimeoutReader(bytes.NewReader(data)), "upload failed after", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := open(t)
			_, err := r.Put(tc.rec, tc.body)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Put(%+v) = %v, want an error containing %q", tc.rec, err, tc.want)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("Put error %v is not %v", err, tc.is)
			}
			var me *MismatchError
			if errors.As(err, &me) != tc.as {
				t.Errorf("Put error %v: MismatchError = %v, want %v", err, !tc.as, tc.as)
			}
			ents, _ := os.ReadDir(r.Dir())
			if len(ents) != 0 {
				t.Errorf("registry folder after a failed Put has %d entries, want none", len(ents))
			}
		})
	}
}

func TestOpenSweepsAndRecordChecks(t *testing.T) {
	r := open(t)
	data := fakeSquashfs(1000)
	if _, err := r.Put(Record{Name: "os", Format: "squashfs", SHA256: sum(data)}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(r.Dir(), ".upload-os-123"), []byte("partial"), 0o600)
	os.WriteFile(filepath.Join(r.Dir(), ".record-os-123"), []byte("{"), 0o600)
	r2, err := Open(r.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if l := leftovers(t, r2); len(l) != 0 {
		t.Errorf("Open left %v", l)
	}
	// The record is read afresh: a hand edit shows at once.
	p := filepath.Join(r.Dir(), "os.json")
	b, _ := os.ReadFile(p)
	tampered := strings.Repeat("0", 64)
	os.WriteFile(p, bytes.Replace(b, []byte(sum(data)), []byte(tampered), 1), 0o644)
	if g, err := r2.Get("os"); err != nil || g.SHA256 != tampered {
		t.Errorf("Get after tampering = %+v, %v, want sha256 %s", g, err, tampered)
	}
	for _, tc := range []struct{ content, want string }{
		{`{`, "unexpected end of JSON"},
		{`{"name":"other","format":"squashfs","sha256":"` + tampered + `"}`, `field name "other" differs`},
		{`{"name":"os","format":"zip","sha256":"` + tampered + `"}`, `format "zip"`},
		{`{"name":"os","format":"squashfs","sha256":"abc"}`, `sha256 "abc"`},
	} {
		os.WriteFile(p, []byte(tc.content), 0o644)
		if _, err := r2.Get("os"); err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), p) {
			t.Errorf("Get with record %s = %v, want an error naming %s and %q", tc.content, err, p, tc.want)
		}
		if l, err := r2.List(); len(l) != 0 || err == nil {
			t.Errorf("List with a broken record = %v, %v, want none and an error", l, err)
		}
	}
}

func TestConcurrentPut(t *testing.T) {
	r := open(t)
	data := fakeSquashfs(256 << 10)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = r.Put(Record{Name: "os", Format: "squashfs", SHA256: sum(data)}, bytes.NewReader(data))
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrExists):
			t.Errorf("concurrent Put: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d concurrent Puts of one name succeeded, want 1", ok)
	}
	if l := leftovers(t, r); len(l) != 0 {
		t.Errorf("leftovers after concurrent puts: %v", l)
	}
}

func TestCheckName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"rocky9.4-compute_v2", true}, {"0", true},
		{"", false}, {"-a", false}, {".a", false}, {"A", false}, {"a/b", false}, {"a b", false},
		{"..", false}, {"a\n", false}, {strings.Repeat("a", MaxNameLen), true}, {strings.Repeat("a", MaxNameLen+1), false},
	} {
		if err := CheckName(tc.name); (err == nil) != tc.ok {
			t.Errorf("CheckName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
