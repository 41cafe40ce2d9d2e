package state

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// BootKey is a node's registered per-boot credential (package nodeauth):
// the public key its agent made for the current boot, the boot id it
// signs with, and the hash of the token the booted OS reports with.
type BootKey struct {
	Node       string
	Boot       string // boot id (Dt-Boot)
	Key        []byte // ed25519 public key
	IPXEBoot   int64  // the boot number (iPXE scripts served) it was registered in
	Registered time.Time
	Remote     string // source address:port of the registration
	OSToken    string // hex SHA-256 of the OS token; "" until registered
}

// ErrNoOpenBoot is returned by RegisterBoot when bootsrv has not served
// the node an iPXE script since its last registration.
var ErrNoOpenBoot = errors.New("no open boot: bootsrv has not served this node an iPXE script since its last registration")

// RegisterBoot records key as node's credential for its current boot and
// returns it with its boot id (newID(boot number)). A boot is open when
// bootsrv served the node's iPXE script (StartBoot) after the last
// registration; each open boot takes one registration, which replaces the
// previous key. Registering the same key again in the same boot returns
// the same record (an agent retrying after a lost answer). Durable when
// it returns.
func (s *Store) RegisterBoot(node string, key []byte, remote string, newID func(boot int64) string) (BootKey, error) {
	e := s.cache.entry(node)
	e.op.Lock()
	defer e.op.Unlock()
	s.cache.mu.RLock()
	boots, old := e.boots, e.bootKey
	s.cache.mu.RUnlock()
	if old != nil && old.IPXEBoot == boots && bytes.Equal(old.Key, key) {
		return *old, nil
	}
	if boots == 0 || (old != nil && old.IPXEBoot >= boots) {
		return BootKey{}, ErrNoOpenBoot
	}
	bk := &BootKey{Node: node, Boot: newID(boots), Key: bytes.Clone(key), IPXEBoot: boots,
		Registered: fromDB(toDB(s.now())), Remote: remote}
	ctx := context.Background()
	err := s.tx(ctx, "register boot of "+node, func(tx *sql.Tx) error { return putBootKey(ctx, tx, bk) })
	if err != nil {
		return BootKey{}, err
	}
	s.cache.mu.Lock()
	e.bootKey = bk
	s.cache.mu.Unlock()
	return *bk, nil
}

// BootKeyOf returns node's registered credential (from memory).
func (s *Store) BootKeyOf(node string) (BootKey, bool) {
	e := s.cache.get(node)
	if e == nil {
		return BootKey{}, false
	}
	s.cache.mu.RLock()
	defer s.cache.mu.RUnlock()
	if e.bootKey == nil {
		return BootKey{}, false
	}
	return *e.bootKey, true
}

// SetOSToken records the hash of the OS token of node's boot. It fails
// when boot is no longer the node's registered boot.
func (s *Store) SetOSToken(node, boot, hash string) error {
	e := s.cache.entry(node)
	e.op.Lock()
	defer e.op.Unlock()
	s.cache.mu.RLock()
	cur := e.bootKey
	s.cache.mu.RUnlock()
	if cur == nil || cur.Boot != boot {
		return fmt.Errorf("os token of %s: boot %s is not the node's registered boot", node, boot)
	}
	ctx := context.Background()
	err := s.tx(ctx, "os token of "+node, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE boot_keys SET os_token = ? WHERE node = ? AND boot = ?`, hash, node, boot)
		return err
	})
	if err != nil {
		return err
	}
	bk := *cur
	bk.OSToken = hash
	s.cache.mu.Lock()
	e.bootKey = &bk
	s.cache.mu.Unlock()
	return nil
}

// loadBootKeys fills the cache's credentials (Open).
func (s *Store) loadBootKeys(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT node, boot, key, ipxe_boot, registered, remote, os_token FROM boot_keys`)
	if err != nil {
		return fmt.Errorf("load boot keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		bk := &BootKey{}
		var reg int64
		if err := rows.Scan(&bk.Node, &bk.Boot, &bk.Key, &bk.IPXEBoot, &reg, &bk.Remote, &bk.OSToken); err != nil {
			return fmt.Errorf("load boot keys: %w", err)
		}
		bk.Registered = fromDB(reg)
		e := s.cache.nodes[bk.Node]
		if e == nil {
			e = &nodeEntry{}
			s.cache.nodes[bk.Node] = e
		}
		e.bootKey = bk
	}
	return rows.Err()
}

// Release is one secret released to a node's boot.
type Release struct {
	Node, Boot, Name string
	Time             time.Time
	Remote           string
}

// ReleaseSecret records that secret name is released to node's boot and
// reports whether this is the first release for that (node, boot, name);
// false means it was released before and must not be again. Durable when
// it returns, so a bootsrv restart does not allow a second release.
func (s *Store) ReleaseSecret(node, boot, name, remote string) (bool, error) {
	ctx := context.Background()
	first := false
	err := s.tx(ctx, "release secret to "+node, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO secret_releases(node, boot, name, released, remote)
			VALUES(?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, node, boot, name, toDB(s.now()), remote)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		first = n == 1
		return err
	})
	return first, err
}

// Releases returns node's secret releases, oldest first.
func (s *Store) Releases(node string) ([]Release, error) {
	rows, err := s.r.Query(`SELECT node, boot, name, released, remote FROM secret_releases WHERE node = ? ORDER BY released`, node)
	if err != nil {
		return nil, fmt.Errorf("secret releases of %s: %w", node, err)
	}
	defer rows.Close()
	var out []Release
	for rows.Next() {
		var r Release
		var t int64
		if err := rows.Scan(&r.Node, &r.Boot, &r.Name, &t, &r.Remote); err != nil {
			return nil, fmt.Errorf("secret releases of %s: %w", node, err)
		}
		r.Time = fromDB(t)
		out = append(out, r)
	}
	return out, rows.Err()
}
