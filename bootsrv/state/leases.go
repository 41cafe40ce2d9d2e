package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Lease is a dynamic DHCP lease (static reservations live in the inventory).
type Lease struct {
	MAC     string // canonical lower-case "52:54:00:00:00:01"
	IP      netip.Addr
	Network string // inventory network name
	Expires time.Time
}

// CanonicalMAC parses mac in any form net.ParseMAC accepts and returns it
// lower-case, colon separated.
func CanonicalMAC(mac string) (string, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return "", fmt.Errorf("mac %q: %w", mac, err)
	}
	return hw.String(), nil
}

// PutLease creates or replaces the lease of l.MAC.
func (s *Store) PutLease(l Lease) error { return s.PutLeases([]Lease{l}) }

// PutLeases creates or replaces leases in one transaction and returns once
// it is durable (a later lease of the same MAC or address wins). bootsrv's
// DHCP path uses QueueLease instead.
func (s *Store) PutLeases(ls []Lease) error {
	ops := make(map[string]leaseOp, len(ls))
	holder := make(map[netip.Addr]string, len(ls))
	for _, l := range ls {
		mac, err := CanonicalMAC(l.MAC)
		if err != nil {
			return fmt.Errorf("put %d leases: lease: %w", len(ls), err)
		}
		if !l.IP.IsValid() {
			return fmt.Errorf("put %d leases: lease %s: no ip", len(ls), mac)
		}
		l.MAC = mac
		if prev, ok := holder[l.IP]; ok && prev != mac && ops[prev].lease.IP == l.IP {
			delete(ops, prev)
		}
		holder[l.IP] = mac
		ops[mac] = leaseOp{lease: l}
	}
	ctx := context.Background()
	return s.tx(ctx, fmt.Sprintf("put %d leases", len(ls)), func(tx *sql.Tx) error {
		return s.writeLeases(ctx, tx, ops)
	})
}

// DeleteLease removes mac's lease (DHCPRELEASE). No lease is not an error.
func (s *Store) DeleteLease(mac string) error {
	m, err := CanonicalMAC(mac)
	if err != nil {
		return fmt.Errorf("delete lease: %w", err)
	}
	ctx := context.Background()
	return s.tx(ctx, "delete lease "+m, func(tx *sql.Tx) error {
		return s.writeLeases(ctx, tx, map[string]leaseOp{m: {lease: Lease{MAC: m}, deleted: true}})
	})
}

// LeaseOf returns mac's stored lease, expired or not.
func (s *Store) LeaseOf(mac string) (Lease, bool, error) {
	m, err := CanonicalMAC(mac)
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease: %w", err)
	}
	l := Lease{MAC: m}
	var ip string
	var exp int64
	err = s.r.QueryRow(`SELECT ip, network, expires FROM leases WHERE mac = ?`, m).Scan(&ip, &l.Network, &exp)
	if err == sql.ErrNoRows {
		return Lease{}, false, nil
	}
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: %w", m, err)
	}
	if l.IP, err = netip.ParseAddr(ip); err != nil {
		return Lease{}, false, fmt.Errorf("lease %s: ip: %w", m, err)
	}
	l.Expires = fromDB(exp)
	return l, true, nil
}

// Leases returns every stored lease, expired ones included, by MAC.
func (s *Store) Leases() ([]Lease, error) {
	rows, err := s.r.Query(`SELECT mac, ip, network, expires FROM leases ORDER BY mac`)
	if err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	defer rows.Close()
	var out []Lease
	for rows.Next() {
		var l Lease
		var ip string
		var exp int64
		if err := rows.Scan(&l.MAC, &ip, &l.Network, &exp); err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		if l.IP, err = netip.ParseAddr(ip); err != nil {
			return nil, fmt.Errorf("lease %s: ip: %w", l.MAC, err)
		}
		l.Expires = fromDB(exp)
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list leases: %w", err)
	}
	return out, nil
}

// Discovered is an unknown node that booted (discovery mode).
type Discovered struct {
	MAC       string
	FirstSeen time.Time
	LastSeen  time.Time
	Inventory json.RawMessage // hardware inventory as reported; nil until then
}

// PutDiscovered records that mac was seen; inventory, when non-nil, replaces
// the stored hardware inventory.
func (s *Store) PutDiscovered(mac string, inventory json.RawMessage) error {
	m, err := CanonicalMAC(mac)
	if err != nil {
		return fmt.Errorf("discovered node: %w", err)
	}
	now := toDB(s.now())
	return s.tx(context.Background(), "discovered node "+m, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO discovered(mac, first_seen, last_seen, inventory) VALUES(?1, ?2, ?2, ?3)
			ON CONFLICT(mac) DO UPDATE SET last_seen = ?2,
				inventory = CASE WHEN ?3 != '' THEN ?3 ELSE inventory END`, m, now, string(inventory))
		return err
	})
}

// DiscoveredNode returns what is known about an unknown MAC.
func (s *Store) DiscoveredNode(mac string) (Discovered, bool, error) {
	m, err := CanonicalMAC(mac)
	if err != nil {
		return Discovered{}, false, fmt.Errorf("discovered node: %w", err)
	}
	var d Discovered
	var first, last int64
	var inv string
	err = s.r.QueryRow(`SELECT mac, first_seen, last_seen, inventory FROM discovered WHERE mac = ?`, m).
		Scan(&d.MAC, &first, &last, &inv)
	if err == sql.ErrNoRows {
		return Discovered{}, false, nil
	}
	if err != nil {
		return Discovered{}, false, fmt.Errorf("discovered node %s: %w", m, err)
	}
	d.FirstSeen, d.LastSeen = fromDB(first), fromDB(last)
	if inv != "" {
		d.Inventory = json.RawMessage(inv)
	}
	return d, true, nil
}

// DiscoveredNodes lists every discovered MAC, by MAC.
func (s *Store) DiscoveredNodes() ([]Discovered, error) {
	rows, err := s.r.Query(`SELECT mac, first_seen, last_seen, inventory FROM discovered ORDER BY mac`)
	if err != nil {
		return nil, fmt.Errorf("list discovered nodes: %w", err)
	}
	defer rows.Close()
	var out []Discovered
	for rows.Next() {
		var d Discovered
		var first, last int64
		var inv string
		if err := rows.Scan(&d.MAC, &first, &last, &inv); err != nil {
			return nil, fmt.Errorf("list discovered nodes: %w", err)
		}
		d.FirstSeen, d.LastSeen = fromDB(first), fromDB(last)
		if inv != "" {
			d.Inventory = json.RawMessage(inv)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list discovered nodes: %w", err)
	}
	return out, nil
}
