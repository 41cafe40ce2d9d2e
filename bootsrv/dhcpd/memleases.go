package dhcpd

import (
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// DefaultDeclineHold is how long MemLeases keeps a declined address out of
// the pool.
const DefaultDeclineHold = 10 * time.Minute

// MemLeases is the in-memory Leases. Allocation is O(1) amortised: a MAC's
// existing lease is a map hit; new addresses come from a never-used cursor,
// then from a free list of released addresses; only when both are empty is
// the pool swept for expired leases (at most once a second per pool).
// Addresses stay sticky: an expired lease keeps its address until the pool
// needs it.
//
// The zero value is ready to use.
type MemLeases struct {
	// OnChange, if set, is called for every new, moved or extended lease
	// (deleted false) and every released lease (deleted true). It runs under
	// MemLeases' lock, in order: it must be quick (queue the write) and must
	// not call back into MemLeases.
	OnChange func(l Lease, deleted bool)
	// DeclineHold is how long a declined address stays out of the pool
	// (DefaultDeclineHold when zero).
	DeclineHold time.Duration
	// Now is the clock (time.Now when nil); tests set it.
	Now func() time.Time

	mu     sync.Mutex
	byMAC  map[string]*memEntry
	byAddr map[netip.Addr]*memEntry
	pools  map[poolKey]*memPool
}

type memEntry struct {
	mac     string // "" for a declined (quarantined) address
	network string
	addr    netip.Addr
	expires time.Time
	pool    *memPool
}

type poolKey struct {
	network    string
	start, end netip.Addr
}

type memPool struct {
	start     uint32
	size      uint64 // end-start+1; uint64 so a /0 range cannot overflow
	next      uint64 // first never-handed-out offset
	free      []uint32
	lastSweep time.Time
}

func (m *MemLeases) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *MemLeases) init() {
	if m.byMAC == nil {
		m.byMAC = make(map[string]*memEntry)
		m.byAddr = make(map[netip.Addr]*memEntry)
		m.pools = make(map[poolKey]*memPool)
	}
}

// Lease implements Leases.
func (m *MemLeases) Lease(mac net.HardwareAddr, network string, start, end netip.Addr, ttl time.Duration, isReserved func(netip.Addr) bool) (netip.Addr, error) {
	if !start.Is4() || !end.Is4() || end.Less(start) {
		return netip.Addr{}, fmt.Errorf("lease %s: bad range %s-%s", mac, start, end)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	now := m.now()
	p := m.pool(network, start, end)
	if e := m.byMAC[string(mac)]; e != nil {
		if e.network == network && inRange(e.addr, start, end) && (isReserved == nil || !isReserved(e.addr)) {
			e.pool = p
			if exp := now.Add(ttl); exp.After(e.expires) {
				e.expires = exp
				m.changed(e, false)
			}
			return e.addr, nil
		}
		m.drop(e)
		m.changed(e, true)
	}
	a, ok := m.take(p, now, isReserved)
	if !ok {
		return netip.Addr{}, ErrPoolExhausted
	}
	e := &memEntry{mac: string(mac), network: network, addr: a, expires: now.Add(ttl), pool: p}
	m.byMAC[e.mac] = e
	m.byAddr[a] = e
	m.changed(e, false)
	return a, nil
}

// Release implements Leases.
func (m *MemLeases) Release(mac net.HardwareAddr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.byMAC[string(mac)]; e != nil {
		m.drop(e)
		m.changed(e, true)
	}
	return nil
}

// Decline implements Decliner.
func (m *MemLeases) Decline(mac net.HardwareAddr, addr netip.Addr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	e := m.byMAC[string(mac)]
	if e == nil || e.addr != addr {
		return nil // not ours to quarantine
	}
	m.drop(e)
	m.changed(e, true)
	hold := m.DeclineHold
	if hold <= 0 {
		hold = DefaultDeclineHold
	}
	m.byAddr[addr] = &memEntry{network: e.network, addr: addr, expires: m.now().Add(hold), pool: e.pool}
	return nil
}

// Lookup implements LeaseLookup.
func (m *MemLeases) Lookup(mac net.HardwareAddr) (Lease, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.byMAC[string(mac)]
	if e == nil {
		return Lease{}, false
	}
	return e.lease(), true
}

// Restore loads persisted leases (expired ones too: they keep their address
// until the pool needs it). A later lease for the same MAC or address wins.
func (m *MemLeases) Restore(ls []Lease) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	for _, l := range ls {
		if len(l.MAC) == 0 || !l.Addr.Is4() {
			continue
		}
		if old := m.byMAC[string(l.MAC)]; old != nil {
			m.drop(old)
		}
		if old := m.byAddr[l.Addr]; old != nil {
			m.drop(old)
		}
		e := &memEntry{mac: string(l.MAC), network: l.Network, addr: l.Addr, expires: l.Expires}
		m.byMAC[e.mac] = e
		m.byAddr[e.addr] = e
	}
}

// Snapshot returns every lease, sorted by address.
func (m *MemLeases) Snapshot() []Lease {
	m.mu.Lock()
	out := make([]Lease, 0, len(m.byMAC))
	for _, e := range m.byMAC {
		out = append(out, e.lease())
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

func (e *memEntry) lease() Lease {
	return Lease{MAC: net.HardwareAddr(e.mac), Network: e.network, Addr: e.addr, Expires: e.expires}
}

func (m *MemLeases) changed(e *memEntry, deleted bool) {
	if m.OnChange != nil {
		m.OnChange(e.lease(), deleted)
	}
}

func (m *MemLeases) pool(network string, start, end netip.Addr) *memPool {
	k := poolKey{network, start, end}
	p := m.pools[k]
	if p == nil {
		p = &memPool{start: u32(start), size: uint64(u32(end)-u32(start)) + 1}
		m.pools[k] = p
	}
	return p
}

// drop removes e from the maps and offers its address back to its pool.
func (m *MemLeases) drop(e *memEntry) {
	if e.mac != "" && m.byMAC[e.mac] == e {
		delete(m.byMAC, e.mac)
	}
	if m.byAddr[e.addr] == e {
		delete(m.byAddr, e.addr)
		if e.pool != nil {
			if off := u32(e.addr) - e.pool.start; uint64(off) < e.pool.size {
				e.pool.free = append(e.pool.free, off)
			}
		}
	}
}

// usable reports whether a can be handed out now, evicting an expired holder.
func (m *MemLeases) usable(a netip.Addr, now time.Time, isReserved func(netip.Addr) bool) bool {
	if e := m.byAddr[a]; e != nil {
		if e.expires.After(now) {
			return false
		}
		m.drop(e)
		if e.mac != "" {
			m.changed(e, true)
		}
	}
	return isReserved == nil || !isReserved(a)
}

func (m *MemLeases) take(p *memPool, now time.Time, isReserved func(netip.Addr) bool) (netip.Addr, bool) {
	for p.next < p.size {
		a := fromU32(p.start + uint32(p.next))
		p.next++
		if m.usable(a, now, isReserved) {
			return a, true
		}
	}
	for pass := 0; pass < 2; pass++ {
		for len(p.free) > 0 {
			off := p.free[len(p.free)-1]
			p.free = p.free[:len(p.free)-1]
			if a := fromU32(p.start + off); m.usable(a, now, isReserved) {
				return a, true
			}
		}
		if pass == 1 || (!p.lastSweep.IsZero() && now.Sub(p.lastSweep) < time.Second) {
			break
		}
		p.lastSweep = now
		m.sweep(p, now)
	}
	return netip.Addr{}, false
}

// sweep rebuilds p's free list from scratch: every address not held by an
// unexpired lease.
func (m *MemLeases) sweep(p *memPool, now time.Time) {
	p.free = p.free[:0]
	for off := uint64(0); off < p.size; off++ {
		a := fromU32(p.start + uint32(off))
		if e := m.byAddr[a]; e != nil && e.expires.After(now) {
			continue
		}
		p.free = append(p.free, uint32(off))
	}
	// Hand out low addresses first.
	for i, j := 0, len(p.free)-1; i < j; i, j = i+1, j-1 {
		p.free[i], p.free[j] = p.free[j], p.free[i]
	}
}
