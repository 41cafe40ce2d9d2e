package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// Dynamic leases of a shared store live in the leases table, whose ip
// column is UNIQUE: an address is allocated by a transaction that inserts
// the lease (or takes over an expired one) and fails over to the next
// address when another replica holds it, so no address goes to two MACs
// whatever replica answers. Reserved addresses (the inventory's) never
// enter the table and need no coordination. Each replica starts its scan
// of a pool at a random place, so replicas rarely try the same address at
// the same moment.

// ErrPoolExhausted is returned by AllocLease when no address is free.
var ErrPoolExhausted = errors.New("no free address in the pool")

type poolCursors struct {
	mu   sync.Mutex
	next map[string]uint64 // network/start/end -> offset to try first
}

// AllocLease gives mac an address of [start, end] for ttl (shared store
// only): its current lease when it is in the range and not reserved
// (renewed), else the first free address from this replica's cursor.
// Durable when it returns.
func (s *Store) AllocLease(mac, network string, start, end netip.Addr, ttl time.Duration, isReserved func(netip.Addr) bool) (netip.Addr, error) {
	if !s.pg {
		return netip.Addr{}, errors.New("alloc lease: only a shared (PostgreSQL) store allocates; SQLite bootsrv allocates in memory")
	}
	if !start.Is4() || !end.Is4() || end.Less(start) {
		return netip.Addr{}, fmt.Errorf("alloc lease %s: bad pool %s-%s", mac, start, end)
	}
	size := u32(end) - u32(start) + 1
	key := fmt.Sprintf("%s/%s/%s", network, start, end)
	s.cursors.mu.Lock()
	if s.cursors.next == nil {
		s.cursors.next = map[string]uint64{}
	}
	off, ok := s.cursors.next[key]
	if !ok {
		off = rand.Uint64N(uint64(size))
	}
	s.cursors.mu.Unlock()

	now := s.now()
	exp := toDB(now.Add(ttl))
	var got netip.Addr
	var used uint64
	ctx := context.Background()
	err := s.txRetry(ctx, "lease for "+mac, func(tx *sql.Tx) error {
		var ip, net string
		err := tx.QueryRowContext(ctx, `SELECT ip, network FROM leases WHERE mac = ?`, mac).Scan(&ip, &net)
		switch {
		case err == nil:
			a, perr := netip.ParseAddr(ip)
			if perr == nil && net == network && !a.Less(start) && !end.Less(a) && !isReserved(a) {
				if _, err := tx.ExecContext(ctx, `UPDATE leases SET expires = ? WHERE mac = ?`, exp, mac); err != nil {
					return err
				}
				got = a
				return nil
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE mac = ?`, mac); err != nil {
				return err
			}
		case err != sql.ErrNoRows:
			return err
		}
		for i := uint64(0); i < uint64(size); i++ {
			o := (off + i) % uint64(size)
			a := fromU32(u32(start) + uint32(o))
			if isReserved(a) {
				continue
			}
			r, err := tx.ExecContext(ctx, `INSERT INTO leases(mac, ip, network, expires) VALUES(?1, ?2, ?3, ?4)
				ON CONFLICT(ip) DO UPDATE SET mac = excluded.mac, network = excluded.network, expires = excluded.expires
				WHERE leases.expires < ?5`, mac, a.String(), network, exp, toDB(now))
			if err != nil {
				return err
			}
			if n, _ := r.RowsAffected(); n == 1 {
				got, used = a, o+1
				return nil
			}
		}
		return fmt.Errorf("%s: %w", key, ErrPoolExhausted)
	})
	if err != nil {
		return netip.Addr{}, err
	}
	if used != 0 {
		s.cursors.mu.Lock()
		s.cursors.next[key] = used % uint64(size)
		s.cursors.mu.Unlock()
	}
	return got, nil
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func fromU32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// putLeasesPG stores leases (canonical MACs), a later one of the same MAC
// or address winning, as PutLeases does with the lease log.
func (s *Store) putLeasesPG(ls []Lease) error {
	ctx := context.Background()
	return s.tx(ctx, fmt.Sprintf("put %d leases", len(ls)), func(tx *sql.Tx) error {
		for _, l := range ls {
			if _, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE ip = ? AND mac != ?`, l.IP.String(), l.MAC); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO leases(mac, ip, network, expires) VALUES(?1, ?2, ?3, ?4)
				ON CONFLICT(mac) DO UPDATE SET ip = excluded.ip, network = excluded.network, expires = excluded.expires`,
				l.MAC, l.IP.String(), l.Network, toDB(l.Expires)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Store) deleteLeasePG(mac string) error {
	ctx := context.Background()
	return s.tx(ctx, "delete lease "+mac, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM leases WHERE mac = ?`, mac)
		return err
	})
}

func (s *Store) leaseOfPG(mac string) (Lease, bool, error) {
	var ip string
	var exp int64
	l := Lease{MAC: mac}
	err := s.r.QueryRow(`SELECT ip, network, expires FROM leases WHERE mac = ?`, mac).Scan(&ip, &l.Network, &exp)
	if err == sql.ErrNoRows {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, s.unreachable(fmt.Errorf("lease of %s: %w", mac, err))
	}
	l.IP, _ = netip.ParseAddr(ip)
	l.Expires = fromDB(exp)
	return l, true, nil
}

func (s *Store) leasesPG() ([]Lease, error) {
	rows, err := s.r.Query(`SELECT mac, ip, network, expires FROM leases ORDER BY mac`)
	if err != nil {
		return nil, s.unreachable(fmt.Errorf("leases: %w", err))
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var ip string
		var exp int64
		if err := rows.Scan(&l.MAC, &ip, &l.Network, &exp); err != nil {
			return nil, fmt.Errorf("leases: %w", err)
		}
		l.IP, _ = netip.ParseAddr(ip)
		l.Expires = fromDB(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}
