package state

import (
	"context"
	"fmt"
	"net/netip"
)

// openLeases opens the lease log. Leases that older versions kept in the
// database's leases table are moved into the log: read, written with the
// log's first compaction (fsynced), then deleted from the table; a crash in
// between only reads them again (the log, being newer, still wins).
func (s *Store) openLeases(ctx context.Context, dir string) (*leaseStore, error) {
	rows, err := s.w.QueryContext(ctx, `SELECT mac, ip, network, expires FROM leases`)
	if err != nil {
		return nil, fmt.Errorf("state db %s: read old leases: %w", s.path, err)
	}
	var old []Lease
	for rows.Next() {
		var l Lease
		var ip string
		var exp int64
		if err := rows.Scan(&l.MAC, &ip, &l.Network, &exp); err != nil {
			rows.Close()
			return nil, fmt.Errorf("state db %s: read old leases: %w", s.path, err)
		}
		var perr error
		if l.IP, perr = netip.ParseAddr(ip); perr != nil {
			continue
		}
		if mac, _, merr := leaseMAC(l.MAC); merr == nil {
			l.MAC = mac
			l.Expires = fromDB(exp)
			old = append(old, l)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("state db %s: read old leases: %w", s.path, err)
	}
	ls, err := openLeaseStore(dir, old)
	if err != nil {
		return nil, err
	}
	if len(old) > 0 {
		if _, err := s.w.ExecContext(ctx, `DELETE FROM leases`); err != nil {
			ls.close()
			return nil, fmt.Errorf("state db %s: drop moved leases: %w", s.path, err)
		}
	}
	return ls, nil
}
