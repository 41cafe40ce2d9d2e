package state

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Compaction: the log is rewritten (one record per live lease) at Open and
// whenever it holds more than compactFactor records per live lease and at
// least compactMin records.
const (
	compactFactor = 4
	compactMin    = 1 << 16
)

// leaseStore keeps the leases in memory and every change in the lease log.
// Changes are applied to memory at once and appended to buf; the flusher
// goroutine (or a synchronous caller, in sync) writes buf and fsyncs.
type leaseStore struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	byMAC   map[string]*Lease // canonical MAC -> lease
	byIP    map[netip.Addr]string
	buf     []byte // records not yet written
	bufRecs int
	kick    chan struct{} // cap 1

	syncMu  sync.Mutex // held while writing and fsyncing; guards the fields below
	f       *os.File
	fileRec int  // records in the file
	broken  bool // a write failed: the next sync rewrites the file whole

	lock *os.File // LeaseLogName+".lock", flock'ed while open

	lost       atomic.Uint64 // queued changes a failed write left unstored
	quit, done chan struct{}
	closeOnce  sync.Once
}

// openLeaseStore replays dir's lease log, adds the leases of older state
// databases (old, applied first: the log is newer), compacts the log and
// starts the flusher.
func openLeaseStore(dir string, old []Lease) (*leaseStore, error) {
	ls := &leaseStore{
		path:  filepath.Join(dir, LeaseLogName),
		log:   slog.Default(),
		byMAC: make(map[string]*Lease),
		byIP:  make(map[netip.Addr]string),
		kick:  make(chan struct{}, 1),
		quit:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	lock, err := lockLeaseLog(ls.path + ".lock")
	if err != nil {
		return nil, err
	}
	ls.lock = lock
	ok := false
	defer func() {
		if !ok {
			lock.Close()
		}
	}()
	for _, l := range old {
		ls.apply(l.MAC, false, l)
	}
	data, err := os.ReadFile(ls.path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("lease log %s: %w", ls.path, err)
	}
	good, perr := parseLeaseLog(data, func(r leaseRec) {
		mac := r.mac.String()
		if r.deleted {
			ls.apply(mac, true, Lease{})
			return
		}
		ls.apply(mac, false, r.lease())
	})
	if perr != nil {
		// A crash tears at most the last record; anything else is damage
		// we cannot repair. Either way keep what replayed and go on.
		ls.log.Warn("state: lease log damaged, ignoring the rest", "log", ls.path,
			"kept_bytes", good, "dropped_bytes", len(data)-good, "err", perr)
	}
	ls.syncMu.Lock()
	err = ls.compact()
	ls.syncMu.Unlock()
	if err != nil {
		return nil, err
	}
	ok = true
	go ls.flusher()
	return ls, nil
}

// lockLeaseLog takes an exclusive lock: two bootsrv processes appending
// to one lease log would interleave and hand out addresses twice.
func lockLeaseLog(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lease log lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lease log lock %s: %w (is another bootsrv using this --state folder?)", path, err)
	}
	return f, nil
}

// apply changes the in-memory leases: a put replaces mac's lease and takes
// its address from any other holder. Called with mu held (or before the
// store is shared). Invariant: byIP[byMAC[m].IP] == m for every m.
func (ls *leaseStore) apply(mac string, deleted bool, l Lease) {
	old := ls.byMAC[mac]
	if old != nil && !deleted && old.IP == l.IP {
		l.MAC = mac
		*old = l // the common case: a lease extended
		return
	}
	if old != nil {
		if ls.byIP[old.IP] == mac {
			delete(ls.byIP, old.IP)
		}
		delete(ls.byMAC, mac)
	}
	if deleted {
		return
	}
	if prev, ok := ls.byIP[l.IP]; ok && prev != mac {
		delete(ls.byMAC, prev)
	}
	l.MAC = mac
	ls.byMAC[mac] = &l
	ls.byIP[l.IP] = mac
}

// change applies one change and queues its record; hw is mac's bytes.
func (ls *leaseStore) change(mac string, hw net.HardwareAddr, deleted bool, l Lease) {
	ls.mu.Lock()
	ls.apply(mac, deleted, l)
	ls.buf = appendLeaseRec(ls.buf, hw, deleted, l.IP, toDB(l.Expires), l.Network)
	ls.bufRecs++
	ls.mu.Unlock()
}

// wake tells the flusher that buf has records.
func (ls *leaseStore) wake() {
	select {
	case ls.kick <- struct{}{}:
	default:
	}
}

// sync writes every record queued before the call and fsyncs the log.
// Concurrent callers share the fsync of whoever holds syncMu: a record
// queued before sync was called is either still in buf or was taken by a
// write that completes (fsync included) before syncMu is released.
func (ls *leaseStore) sync() error {
	ls.syncMu.Lock()
	defer ls.syncMu.Unlock()
	if ls.f == nil {
		return fmt.Errorf("lease log %s is closed", ls.path)
	}
	if ls.broken {
		return ls.compact()
	}
	ls.mu.Lock()
	buf, n := ls.buf, ls.bufRecs
	ls.buf, ls.bufRecs = nil, 0
	live := len(ls.byMAC)
	ls.mu.Unlock()
	if len(buf) == 0 {
		return nil
	}
	if _, err := ls.f.Write(buf); err != nil {
		return ls.failed(n, fmt.Errorf("lease log %s: write: %w", ls.path, err))
	}
	if err := ls.f.Sync(); err != nil {
		return ls.failed(n, fmt.Errorf("lease log %s: fsync: %w", ls.path, err))
	}
	ls.fileRec += n
	if ls.fileRec >= compactMin && ls.fileRec > compactFactor*live {
		return ls.compact()
	}
	return nil
}

// failed handles a failed append: the file may end in a partial record,
// so the next sync rewrites it whole from memory (which has every change).
func (ls *leaseStore) failed(n int, err error) error {
	ls.broken = true
	ls.lost.Add(uint64(n))
	ls.log.Error("state: lease changes not stored yet", "log", ls.path, "changes", n, "err", err)
	return err
}

// compact rewrites the log as one record per lease: a temporary file,
// fsynced, renamed over the log, then the directory fsynced. Records queued
// meanwhile are part of the snapshot. Called with syncMu held.
func (ls *leaseStore) compact() error {
	// Copy under mu (quick: DHCP workers queue changes under it), encode
	// outside.
	ls.mu.Lock()
	snap := make([]Lease, 0, len(ls.byMAC))
	for _, l := range ls.byMAC {
		snap = append(snap, *l)
	}
	ls.buf, ls.bufRecs = nil, 0
	ls.mu.Unlock()
	buf := make([]byte, 0, len(leaseLogMagic)+len(snap)*48)
	buf = append(buf, leaseLogMagic...)
	for _, l := range snap {
		_, hw, err := leaseMAC(l.MAC)
		if err != nil {
			continue // cannot happen: keys are canonical
		}
		buf = appendLeaseRec(buf, hw, false, l.IP, toDB(l.Expires), l.Network)
	}
	n := len(snap)

	tmp := ls.path + ".tmp"
	err := func() error {
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
		if err != nil {
			return err
		}
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp, ls.path); err != nil {
			return err
		}
		return syncDir(filepath.Dir(ls.path))
	}()
	if err == nil {
		var f *os.File
		if f, err = os.OpenFile(ls.path, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			if ls.f != nil {
				ls.f.Close()
			}
			ls.f, ls.fileRec, ls.broken = f, n, false
			return nil
		}
	}
	ls.broken = true
	return fmt.Errorf("lease log %s: compact: %w", ls.path, err)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// flusher writes queued records at most LazyDelay after they were queued.
func (ls *leaseStore) flusher() {
	defer close(ls.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-ls.kick:
		case <-ls.quit:
			return
		}
		timer.Reset(LazyDelay)
		select {
		case <-timer.C:
		case <-ls.quit:
			timer.Stop()
			return
		}
		ls.sync() // errors are logged by failed / returned to sync callers
	}
}

// close writes what is queued and closes the log; later calls do nothing.
func (ls *leaseStore) close() error {
	first := false
	ls.closeOnce.Do(func() { first = true; close(ls.quit) })
	if !first {
		return nil
	}
	<-ls.done
	err := ls.sync()
	ls.syncMu.Lock()
	defer ls.syncMu.Unlock()
	if ls.f != nil {
		if cerr := ls.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("lease log %s: close: %w", ls.path, cerr)
		}
		ls.f = nil
	}
	if ls.lock != nil {
		ls.lock.Close() // releases the flock
		ls.lock = nil
	}
	return err
}

// lookup returns mac's lease.
func (ls *leaseStore) lookup(mac string) (Lease, bool) {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if l := ls.byMAC[mac]; l != nil {
		return *l, true
	}
	return Lease{}, false
}

// all returns every lease (unsorted).
func (ls *leaseStore) all() []Lease {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	out := make([]Lease, 0, len(ls.byMAC))
	for _, l := range ls.byMAC {
		out = append(out, *l)
	}
	return out
}
