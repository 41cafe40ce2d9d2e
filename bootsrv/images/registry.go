package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
)

// Record describes one image; it is stored as NAME.json next to the file.
type Record struct {
	Name    string    `json:"name"`
	Format  string    `json:"format"`
	Size    int64     `json:"size"`
	SHA256  string    `json:"sha256"`
	Created time.Time `json:"created"`
	// Files is the number of entries packed (0: unknown).
	Files int `json:"files,omitempty"`
	// Source is a free-form note on where the image came from
	// ("/srv/roots/compute (squashfs zstd, go-diskfs) on admin1").
	Source string `json:"source,omitempty"`
	// Profile is the resolved profile of a built image (trapctl image
	// build); nil for a packed one.
	Profile *api.ImageProfile `json:"profile,omitempty"`
}

// File is the image file's name in the registry folder: NAME.FORMAT.
func (r Record) File() string { return r.Name + "." + r.Format }

// check validates a record read from NAME.json.
func (r Record) check(name string) error {
	if r.Name != name {
		return fmt.Errorf("field name %q differs from the file name %s.json", r.Name, name)
	}
	if err := CheckFormat(r.Format); err != nil {
		return err
	}
	if err := CheckSHA256(r.SHA256); err != nil {
		return err
	}
	if r.Size < 0 {
		return fmt.Errorf("field size %d is negative", r.Size)
	}
	return nil
}

// Registry is the image folder. Its methods are safe for concurrent use;
// Put and Delete serialize their commits.
type Registry struct {
	dir string
	mu  sync.Mutex // commits: rename file, write record, delete
	// Now is the clock for Record.Created; tests may replace it.
	Now func() time.Time
}

// Temporary file prefixes; image names never start with a dot.
const (
	uploadPrefix = ".upload-"
	recordPrefix = ".record-"
)

// Open opens (creating it if needed) the registry folder dir and removes
// uploads a crash left behind.
func Open(dir string) (*Registry, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("image registry %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("image registry %s: %w", dir, err)
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, uploadPrefix) || strings.HasPrefix(n, recordPrefix) {
			os.Remove(filepath.Join(dir, n))
		}
	}
	return &Registry{dir: dir, Now: time.Now}, nil
}

// Dir is the registry folder.
func (r *Registry) Dir() string { return r.dir }

// Path is the image file of rec.
func (r *Registry) Path(rec Record) string { return filepath.Join(r.dir, rec.File()) }

func (r *Registry) recordPath(name string) string { return filepath.Join(r.dir, name+".json") }

// Get reads the record of name from disk (no cache). A missing image is
// an error wrapping ErrNotFound; an unreadable or inconsistent record
// names the file and what is wrong with it.
func (r *Registry) Get(name string) (Record, error) {
	if err := CheckName(name); err != nil {
		return Record{}, err
	}
	p := r.recordPath(name)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, fmt.Errorf("image %s: %w", name, ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("image %s: %w", name, err)
	}
	var rec Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Record{}, fmt.Errorf("image %s: %w %s: %v", name, ErrBadRecord, p, err)
	}
	if err := rec.check(name); err != nil {
		return Record{}, fmt.Errorf("image %s: %w %s: %v", name, ErrBadRecord, p, err)
	}
	return rec, nil
}

// List returns every image's record, sorted by name. Records that cannot
// be read are left out and reported in the error (joined); the records
// returned are good either way.
func (r *Registry) List() ([]Record, error) {
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("image registry %s: %w", r.dir, err)
	}
	var out []Record
	var errs []error
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !e.Type().IsRegular() || CheckName(name) != nil {
			continue
		}
		rec, err := r.Get(name)
		if err != nil {
			if !errors.Is(err, ErrNotFound) { // deleted meanwhile
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return out, errors.Join(errs...)
}

// File opens the image file of name for reading, with its record.
func (r *Registry) File(name string) (*os.File, Record, error) {
	rec, err := r.Get(name)
	if err != nil {
		return nil, Record{}, err
	}
	f, err := os.Open(r.Path(rec))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, Record{}, fmt.Errorf("image %s: file %s is missing: %w", name, rec.File(), ErrNotFound)
	}
	if err != nil {
		return nil, Record{}, fmt.Errorf("image %s: %w", name, err)
	}
	return f, rec, nil
}

// Delete removes name's record, then its file, and returns the record
// (only its Name when the record was unreadable: a broken image can be
// deleted too).
func (r *Registry) Delete(name string) (Record, error) {
	if err := CheckName(name); err != nil {
		return Record{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := r.Get(name)
	switch {
	case errors.Is(err, ErrBadRecord):
		rec = Record{Name: name}
	case err != nil:
		return Record{}, err
	}
	if err := os.Remove(r.recordPath(name)); err != nil {
		return Record{}, fmt.Errorf("delete image %s: %w", name, err)
	}
	for _, f := range Formats {
		p := filepath.Join(r.dir, name+"."+f)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return rec, fmt.Errorf("delete image %s: record removed, file: %w", name, err)
		}
	}
	syncDir(r.dir)
	return rec, nil
}

// writeRecord writes rec atomically (temp file, fsync, rename).
func (r *Registry) writeRecord(rec Record) error {
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(r.dir, recordPrefix+rec.Name+"-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, r.recordPath(rec.Name))
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// syncDir makes renames in dir durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
