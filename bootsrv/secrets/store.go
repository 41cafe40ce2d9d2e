// Package secrets is bootsrv's secret store for mode iscsi (CHAP secrets,
// LUKS passphrases): one file per secret, STATE/secrets/SCOPE/NAME, where
// SCOPE is a node name or AllNodes (the default for every node). Files are
// mode 0600 in 0700 folders and written atomically (temp file, fsync,
// rename, fsync of the folder). Values are never logged, never put in an
// error message, and never leave this package except through Get/Lookup.
//
// Values live on bootsrv's disk, readable by bootsrv's user: protecting
// the state folder (disk encryption, backups) is the admin's job; see
// docs/threat-model.md.
package secrets

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AllNodes is the scope of a secret stored without a node: it applies to
// every node that has no secret of that name of its own.
const AllNodes = "_all"

// MaxSize bounds a secret's length.
const MaxSize = 64 << 10

// ErrNotFound is returned for a secret that is not stored.
var ErrNotFound = errors.New("no such secret")

// Store is a secret folder.
type Store struct{ dir string }

// Open opens (creating it, mode 0700) the secret folder dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret store %s: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("secret store %s: %w", dir, err)
	}
	return &Store{dir: dir}, nil
}

// CheckName accepts a secret or scope name: 1-64 letters, digits, '.', '_'
// or '-', not starting with '.' or '-' (a single path element). The error
// does not repeat the name (it may be a value pasted by mistake).
func CheckName(what, s string) error {
	bad := s == "" || len(s) > 64 || s[0] == '.' || s[0] == '-'
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			bad = true
		}
	}
	if bad {
		return fmt.Errorf("%s name: want 1-64 letters, digits, '.', '_' or '-'", what)
	}
	return nil
}

func (s *Store) path(scope, name string) (string, error) {
	if err := CheckName("scope", scope); err != nil {
		return "", err
	}
	if err := CheckName("secret", name); err != nil {
		return "", err
	}
	return filepath.Join(s.dir, scope, name), nil
}

// Put stores value as secret name of scope (a node name or AllNodes),
// replacing an older value atomically.
func (s *Store) Put(scope, name string, value []byte) error {
	p, err := s.path(scope, name)
	if err != nil {
		return err
	}
	if len(value) == 0 || len(value) > MaxSize {
		return fmt.Errorf("secret %s/%s: want 1 to %d bytes, got %d", scope, name, MaxSize, len(value))
	}
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("secret %s/%s: %w", scope, name, err)
	}
	f, err := os.CreateTemp(dir, ".tmp-*") // mode 0600
	if err != nil {
		return fmt.Errorf("secret %s/%s: %w", scope, name, err)
	}
	tmp := f.Name()
	_, err = f.Write(value)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("secret %s/%s: %w", scope, name, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Get returns secret name of scope, or ErrNotFound.
func (s *Store) Get(scope, name string) ([]byte, error) {
	p, err := s.path(scope, name)
	if err != nil {
		return nil, err
	}
	v, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("secret %s/%s: %w", scope, name, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s: %w", scope, name, err)
	}
	return v, nil
}

// Lookup returns node's secret name: the node's own, else AllNodes'.
func (s *Store) Lookup(node, name string) ([]byte, error) {
	v, err := s.Get(node, name)
	if errors.Is(err, ErrNotFound) {
		return s.Get(AllNodes, name)
	}
	return v, err
}

// Delete removes secret name of scope (no error when absent).
func (s *Store) Delete(scope, name string) error {
	p, err := s.path(scope, name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("secret %s/%s: %w", scope, name, err)
	}
	return nil
}
