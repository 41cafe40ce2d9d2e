package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
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

// PutLeases creates or replaces leases and returns once they are durable
// (a later lease of the same MAC or address wins). Nothing is stored when
// one of them is invalid. bootsrv's DHCP path uses QueueLease instead.
func (s *Store) PutLeases(ls []Lease) error {
	type put struct {
		mac string
		hw  net.HardwareAddr
		l   Lease
	}
	puts := make([]put, 0, len(ls))
	for _, l := range ls {
		mac, hw, err := leaseMAC(l.MAC)
		if err != nil {
			return fmt.Errorf("put %d leases: lease: %w", len(ls), err)
		}
		if err := checkLease(mac, l); err != nil {
			return fmt.Errorf("put %d leases: %w", len(ls), err)
		}
		puts = append(puts, put{mac, hw, normLease(l)})
	}
	if s.pg {
		ls := make([]Lease, len(puts))
		for i, p := range puts {
			ls[i] = p.l
			ls[i].MAC = p.mac
		}
		return s.putLeasesPG(ls)
	}
	for _, p := range puts {
		s.leases.change(p.mac, p.hw, false, p.l)
	}
	if err := s.leases.sync(); err != nil {
		return fmt.Errorf("put %d leases: %w", len(ls), err)
	}
	return nil
}

// DeleteLease removes mac's lease (DHCPRELEASE) and returns once that is
// durable. No lease is not an error.
func (s *Store) DeleteLease(mac string) error {
	m, hw, err := leaseMAC(mac)
	if err != nil {
		return fmt.Errorf("delete lease: %w", err)
	}
	if s.pg {
		return s.deleteLeasePG(m)
	}
	s.leases.change(m, hw, true, Lease{})
	if err := s.leases.sync(); err != nil {
		return fmt.Errorf("delete lease %s: %w", m, err)
	}
	return nil
}

// QueueLease records a lease change (deleted: DHCPRELEASE, expiry or a move)
// without waiting for it: it is visible to LeaseOf and Leases at once and
// written to the lease log with the next flush, at most LazyDelay later or
// with any synchronous write or Flush called after it. See the package doc
// for what that means after a crash.
func (s *Store) QueueLease(l Lease, deleted bool) error {
	mac, hw, err := leaseMAC(l.MAC)
	if err != nil {
		return fmt.Errorf("queue lease: %w", err)
	}
	if deleted {
		l = Lease{}
	} else if err := checkLease(mac, l); err != nil {
		return fmt.Errorf("queue lease: %w", err)
	}
	if s.pg { // no queue: the shared table is the only copy
		if deleted {
			return s.deleteLeasePG(mac)
		}
		l.MAC = mac
		return s.putLeasesPG([]Lease{normLease(l)})
	}
	s.leases.change(mac, hw, deleted, normLease(l))
	s.leases.wake()
	return nil
}

// leaseMAC returns mac canonical and as bytes. The canonical form (what
// bootsrv passes) is recognised without net.ParseMAC's allocations.
func leaseMAC(mac string) (string, net.HardwareAddr, error) {
	if hw, ok := canonicalMAC48(mac); ok {
		return mac, hw, nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return "", nil, fmt.Errorf("mac %q: %w", mac, err)
	}
	return hw.String(), hw, nil
}

// canonicalMAC48 parses "aa:bb:cc:dd:ee:ff" (lower-case hex only).
func canonicalMAC48(s string) (net.HardwareAddr, bool) {
	if len(s) != 17 {
		return nil, false
	}
	hw := make(net.HardwareAddr, 6)
	for i := range 6 {
		hi, ok1 := lowerHex(s[3*i])
		lo, ok2 := lowerHex(s[3*i+1])
		if !ok1 || !ok2 || (i < 5 && s[3*i+2] != ':') {
			return nil, false
		}
		hw[i] = hi<<4 | lo
	}
	return hw, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func checkLease(mac string, l Lease) error {
	if !l.IP.IsValid() {
		return fmt.Errorf("lease %s: no ip", mac)
	}
	if len(l.Network) > maxLeaseNetwork {
		return fmt.Errorf("lease %s: network name of %d bytes is too long", mac, len(l.Network))
	}
	return nil
}

// normLease gives l the form a reopened store returns: time in UTC at
// nanosecond precision, no monotonic clock.
func normLease(l Lease) Lease {
	l.Expires = fromDB(toDB(l.Expires))
	return l
}

// LeaseOf returns mac's lease, expired or not.
func (s *Store) LeaseOf(mac string) (Lease, bool, error) {
	m, _, err := leaseMAC(mac)
	if err != nil {
		return Lease{}, false, fmt.Errorf("lease: %w", err)
	}
	if s.pg {
		return s.leaseOfPG(m)
	}
	l, ok := s.leases.lookup(m)
	return l, ok, nil
}

// Leases returns every lease, expired ones included, by MAC.
func (s *Store) Leases() ([]Lease, error) {
	if s.pg {
		return s.leasesPG()
	}
	out := s.leases.all()
	slices.SortFunc(out, func(a, b Lease) int { return strings.Compare(a.MAC, b.MAC) })
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
	defer s.sawDiscovered()
	return s.tx(context.Background(), "discovered node "+m, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO discovered(mac, first_seen, last_seen, inventory) VALUES(?1, ?2, ?2, ?3)
			ON CONFLICT(mac) DO UPDATE SET last_seen = ?2,
				inventory = CASE WHEN ?3 != '' THEN ?3 ELSE discovered.inventory END`, m, now, string(inventory))
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
