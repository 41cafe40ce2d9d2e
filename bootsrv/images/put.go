package images

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// MismatchError is an upload whose bytes disagree with what was declared:
// What is "sha256", "size" or "format".
type MismatchError struct {
	Name     string
	What     string
	Declared string
	Got      string
}

func (e *MismatchError) Error() string {
	if e.What == "format" {
		return fmt.Sprintf("image %s: declared format %s, but the upload is %s", e.Name, e.Declared, e.Got)
	}
	return fmt.Sprintf("image %s: %s mismatch: declared %s, upload has %s", e.Name, e.What, e.Declared, e.Got)
}

// UploadError is a failure to read the upload (client gone, body cut).
type UploadError struct {
	Name  string
	Bytes int64 // received before the failure
	Err   error
}

func (e *UploadError) Error() string {
	return fmt.Sprintf("image %s: upload failed after %d bytes: %v", e.Name, e.Bytes, e.Err)
}

func (e *UploadError) Unwrap() error { return e.Err }

// Put stores the image read from body under rec.Name, refusing a name
// that exists (ErrExists). rec.Format and rec.SHA256 are required;
// rec.Size, when > 0, is checked too. Created is set by the registry.
// It returns the stored record.
func (r *Registry) Put(rec Record, body io.Reader) (Record, error) {
	return r.put(rec, body, false)
}

// Replace is Put that replaces an existing image of the same name (its
// file is swapped by rename; a file of another format is removed).
func (r *Registry) Replace(rec Record, body io.Reader) (Record, error) {
	return r.put(rec, body, true)
}

// copyBuf is the copy buffer size of uploads.
const copyBuf = 1 << 20

func (r *Registry) put(rec Record, body io.Reader, replace bool) (Record, error) {
	if err := CheckName(rec.Name); err != nil {
		return Record{}, err
	}
	if err := CheckFormat(rec.Format); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	if err := CheckSHA256(rec.SHA256); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	if rec.Size < 0 {
		return Record{}, invalidf("image %s: size %d is negative", rec.Name, rec.Size)
	}
	if !replace {
		if err := r.absent(rec.Name); err != nil {
			return Record{}, err
		}
	}
	f, err := os.CreateTemp(r.dir, uploadPrefix+rec.Name+"-*")
	if err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	h := sha256.New()
	head := &headWriter{max: sniffLen}
	src := body
	if rec.Size > 0 {
		src = io.LimitReader(body, rec.Size+1) // one more: detect a longer body
	}
	n, err := io.CopyBuffer(io.MultiWriter(f, h, head), onlyReader{src}, make([]byte, copyBuf))
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // writing the temp file (disk full, ...)
			return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
		}
		return Record{}, &UploadError{Name: rec.Name, Bytes: n, Err: err}
	}
	if rec.Size > 0 && n != rec.Size {
		got := strconv.FormatInt(n, 10) + " bytes"
		if n > rec.Size {
			got = "more than " + strconv.FormatInt(rec.Size, 10) + " bytes"
		}
		return Record{}, &MismatchError{Name: rec.Name, What: "size", Declared: strconv.FormatInt(rec.Size, 10) + " bytes", Got: got}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != rec.SHA256 {
		return Record{}, &MismatchError{Name: rec.Name, What: "sha256", Declared: rec.SHA256, Got: got}
	}
	if err := checkMagic(rec.Format, head.b); err != nil {
		return Record{}, &MismatchError{Name: rec.Name, What: "format", Declared: rec.Format, Got: err.Error()}
	}
	if err := f.Sync(); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	if err := f.Close(); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	rec.Size = n
	rec.Created = r.Now().UTC().Truncate(0)

	r.mu.Lock()
	defer r.mu.Unlock()
	old, oldErr := r.Get(rec.Name)
	if oldErr == nil && !replace {
		return Record{}, fmt.Errorf("image %s: %w (uploaded meanwhile)", rec.Name, ErrExists)
	}
	if err := os.Rename(tmp, r.Path(rec)); err != nil {
		return Record{}, fmt.Errorf("image %s: %w", rec.Name, err)
	}
	done = true
	if err := r.writeRecord(rec); err != nil {
		// The old record (if any) still describes the old format's file
		// or, same format, now the wrong bytes: remove both.
		os.Remove(r.recordPath(rec.Name))
		os.Remove(r.Path(rec))
		return Record{}, fmt.Errorf("image %s: write record: %w", rec.Name, err)
	}
	if oldErr == nil && old.Format != rec.Format {
		os.Remove(r.Path(old))
	}
	syncDir(r.dir)
	return rec, nil
}

// absent returns ErrExists (wrapped) when name has a record.
func (r *Registry) absent(name string) error {
	if _, err := os.Stat(r.recordPath(name)); err == nil {
		return fmt.Errorf("image %s: %w", name, ErrExists)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("image %s: %w", name, err)
	}
	return nil
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	b   []byte
	max int
}

func (w *headWriter) Write(p []byte) (int, error) {
	if n := w.max - len(w.b); n > 0 {
		w.b = append(w.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

// onlyReader hides any WriterTo of the body so CopyBuffer uses its buffer.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }
