package state

import (
	"context"
	"database/sql"
	"fmt"
)

// AdoptBootKey gives node to the credential that node from registered for
// its current boot: discovery named the machine (trapctl discover assign),
// and it goes on signing with the same key and boot id under its new name,
// without a reboot. The copy counts as registered before to's next boot,
// so that boot registers a key of its own as usual. from keeps its record
// (the agent asks under it until it learns its name). Durable when it
// returns.
func (s *Store) AdoptBootKey(from, to string) (BootKey, error) {
	old, ok := s.BootKeyOf(from)
	if !ok {
		return BootKey{}, fmt.Errorf("adopt boot key of %s: %s has no registered boot key", from, from)
	}
	e := s.cache.entry(to)
	e.op.Lock()
	defer e.op.Unlock()
	s.readThrough(to, e)
	s.cache.mu.RLock()
	boots := e.boots
	s.cache.mu.RUnlock()
	bk := old
	bk.Node, bk.IPXEBoot, bk.OSToken = to, boots, ""
	ctx := context.Background()
	err := s.tx(ctx, "adopt boot key of "+from+" as "+to, func(tx *sql.Tx) error { return putBootKey(ctx, tx, &bk) })
	if err != nil {
		return BootKey{}, err
	}
	s.cache.mu.Lock()
	e.bootKey = &bk
	s.cache.mu.Unlock()
	return bk, nil
}

// putBootKey writes bk as its node's credential (no OS token yet).
func putBootKey(ctx context.Context, tx *sql.Tx, bk *BootKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO boot_keys(node, boot, key, ipxe_boot, registered, remote, os_token)
		VALUES(?, ?, ?, ?, ?, ?, '') ON CONFLICT(node) DO UPDATE SET boot=excluded.boot, key=excluded.key,
		ipxe_boot=excluded.ipxe_boot, registered=excluded.registered, remote=excluded.remote, os_token=''`,
		bk.Node, bk.Boot, bk.Key, bk.IPXEBoot, toDB(bk.Registered), bk.Remote)
	return err
}
