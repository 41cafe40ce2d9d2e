package state

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// The boot log keeps what bootsrv records on every served iPXE script out
// of SQLite: the boot counter (StartBoot of a node without a once
// override) and the queued events (QueueEvents: bootsrv's own "ipxe"
// event, secret releases). A row insert and a status upsert in the
// transpiled SQLite cost more than the rest of a /ipxe request; the boot
// log costs one JSON line in memory per boot and one write + fsync per
// group (at most LazyDelay after the first queued record), like the lease
// log (leasestore.go).
//
// Memory holds each node's boot counter and its newest BootLogKeep queued
// events; Events, LastEvent and Status merge them with the database's.
// The file (DIR/boots.log, JSON lines) is replayed at Open and rewritten
// from memory (temporary file, fsync, rename, directory fsync) at Open and
// whenever it holds more than 4 records per kept one (and at least 65536).
// A crash can tear only the last line; Open ignores a torn or corrupt line
// and what follows, logs it, and compacts. What queued means is unchanged
// (package doc): a crash within LazyDelay of a queued record loses it.

// BootLogFile is the boot log inside the state directory.
const BootLogFile = "boots.log"

// BootLogKeep is how many queued events per node the boot log keeps (the
// newest); older ones are dropped at compaction and from memory at once.
const BootLogKeep = 64

// bootRecord is one line of the boot log: a boot counter or an event.
type bootRecord struct {
	Node  string          `json:"n,omitempty"`
	Boot  int64           `json:"b,omitempty"`
	Event *manifest.Event `json:"e,omitempty"`
}

// valid: a record names a node, and an event its phase too.
func (r bootRecord) valid() bool {
	if r.Event != nil {
		return r.Event.Node != "" && r.Event.Phase != ""
	}
	return r.Node != "" && r.Boot > 0
}

type bootNode struct {
	boot int64
	evs  []manifest.Event // oldest first, at most BootLogKeep
}

type bootLog struct {
	path string

	mu      sync.Mutex // guards nodes, buf, records
	nodes   map[string]*bootNode
	buf     []byte // encoded records not yet written
	records int    // records in the file
	kept    int    // records a compaction would write
	redo    bool   // a compaction failed: the next sync compacts again

	syncMu sync.Mutex // serializes writes to f
	f      *os.File
	lost   atomic.Uint64

	kick, quit, done chan struct{}
	closeOnce        sync.Once
}

// openBootLog replays DIR/boots.log (if any), rewrites it compacted and
// starts its flusher.
func openBootLog(dir string) (*bootLog, error) {
	bl := &bootLog{path: filepath.Join(dir, BootLogFile), nodes: map[string]*bootNode{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	if err := bl.replay(); err != nil {
		return nil, err
	}
	bl.mu.Lock()
	snap := bl.snapshotLocked()
	bl.mu.Unlock()
	if err := bl.rewrite(snap); err != nil {
		return nil, err
	}
	go bl.flusher()
	return bl, nil
}

func (bl *bootLog) replay() error {
	f, err := os.Open(bl.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("boot log %s: %w", bl.path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		var r bootRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil || !r.valid() {
			slog.Default().Warn("state: boot log: ignoring a torn or corrupt record and what follows",
				"file", bl.path, "line", line, "err", err)
			return nil
		}
		bl.apply(r)
	}
	if err := sc.Err(); err != nil {
		slog.Default().Warn("state: boot log: ignoring the rest", "file", bl.path, "line", line+1, "err", err)
	}
	return nil
}

// apply adds r to memory. Callers hold mu (or own bl alone).
func (bl *bootLog) apply(r bootRecord) {
	node := r.Node
	if r.Event != nil {
		node = r.Event.Node
	}
	n := bl.nodes[node]
	if n == nil {
		n = &bootNode{}
		bl.nodes[node] = n
		bl.kept++ // the node's boot record
	}
	n.boot = max(n.boot, r.Boot)
	if r.Event != nil {
		if len(n.evs) == BootLogKeep {
			n.evs = slices.Delete(n.evs, 0, 1)
		} else {
			bl.kept++
		}
		n.evs = append(n.evs, *r.Event)
	}
}

// add queues records and wakes the flusher.
func (bl *bootLog) add(rs ...bootRecord) {
	bl.mu.Lock()
	for _, r := range rs {
		bl.apply(r)
		bl.buf = appendRecord(bl.buf, r)
	}
	bl.records += len(rs)
	bl.mu.Unlock()
	select {
	case bl.kick <- struct{}{}:
	default:
	}
}

// flusher writes queued records at most LazyDelay after they were queued.
func (bl *bootLog) flusher() {
	defer close(bl.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		select {
		case <-bl.kick:
		case <-bl.quit:
			return
		}
		timer.Reset(LazyDelay)
		select {
		case <-timer.C:
		case <-bl.quit:
			timer.Stop()
			return
		}
		if err := bl.sync(); err != nil {
			slog.Default().Error("state: boot log", "err", err)
		}
	}
}

// sync writes and fsyncs what is queued, compacting when the file is
// mostly superseded records.
func (bl *bootLog) sync() error {
	bl.syncMu.Lock()
	defer bl.syncMu.Unlock()
	bl.mu.Lock()
	if bl.redo || bl.records > 4*bl.kept && bl.records >= 1<<16 {
		snap := bl.snapshotLocked() // queued records included
		bl.mu.Unlock()
		err := bl.rewrite(snap) // adds wait only for the snapshot, not the write
		bl.mu.Lock()
		bl.redo = err != nil // the queue it took is only in memory now
		bl.mu.Unlock()
		return err
	}
	buf := bl.buf
	bl.buf = nil
	bl.mu.Unlock()
	if len(buf) == 0 || bl.f == nil {
		return nil
	}
	if _, err := bl.f.Write(buf); err != nil {
		bl.lost.Add(uint64(bytes.Count(buf, []byte{'\n'})))
		return fmt.Errorf("boot log %s: append: %w", bl.path, err)
	}
	if err := bl.f.Sync(); err != nil {
		return fmt.Errorf("boot log %s: fsync: %w", bl.path, err)
	}
	return nil
}

// snapshotLocked encodes memory (queued records included) as a compacted
// file and empties the queue. Callers hold mu and then rewrite under
// syncMu (or own bl alone).
func (bl *bootLog) snapshotLocked() []byte {
	names := make([]string, 0, len(bl.nodes))
	for n := range bl.nodes {
		names = append(names, n)
	}
	slices.Sort(names)
	var b []byte
	records := 0
	for _, name := range names {
		n := bl.nodes[name]
		if n.boot != 0 {
			b = appendRecord(b, bootRecord{Node: name, Boot: n.boot})
			records++
		}
		for i := range n.evs {
			b = appendRecord(b, bootRecord{Event: &n.evs[i]})
			records++
		}
	}
	bl.buf, bl.records, bl.kept = nil, records, records
	return b
}

// rewrite replaces the file with snap (temporary file, fsync, rename,
// directory fsync) and appends to it from then on.
func (bl *bootLog) rewrite(snap []byte) error {
	tmp := bl.path + ".tmp"
	if err := writeSynced(tmp, snap); err != nil {
		return fmt.Errorf("boot log %s: compact: %w", bl.path, err)
	}
	if err := os.Rename(tmp, bl.path); err != nil {
		return fmt.Errorf("boot log %s: compact: %w", bl.path, err)
	}
	if err := syncDir(filepath.Dir(bl.path)); err != nil {
		return fmt.Errorf("boot log %s: compact: %w", bl.path, err)
	}
	f, err := os.OpenFile(bl.path, os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("boot log %s: %w", bl.path, err)
	}
	if bl.f != nil {
		bl.f.Close()
	}
	bl.f = f
	return nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// close writes what is queued and closes the file; later calls do nothing.
func (bl *bootLog) close() error {
	first := false
	bl.closeOnce.Do(func() { first = true; close(bl.quit) })
	if !first {
		return nil
	}
	<-bl.done
	err := bl.sync()
	bl.syncMu.Lock()
	defer bl.syncMu.Unlock()
	if bl.f != nil {
		if cerr := bl.f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("boot log %s: close: %w", bl.path, cerr)
		}
		bl.f = nil
	}
	return err
}

// events returns node's kept events (a copy, oldest first).
func (bl *bootLog) events(node string) []manifest.Event {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	if n := bl.nodes[node]; n != nil {
		return slices.Clone(n.evs)
	}
	return nil
}

// lastEvents returns every node's newest kept event.
func (bl *bootLog) lastEvents() map[string]manifest.Event {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	out := make(map[string]manifest.Event, len(bl.nodes))
	for name, n := range bl.nodes {
		if len(n.evs) > 0 {
			out[name] = n.evs[len(n.evs)-1]
		}
	}
	return out
}

// boots returns every node's boot counter.
func (bl *bootLog) boots() map[string]int64 {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	out := make(map[string]int64, len(bl.nodes))
	for name, n := range bl.nodes {
		if n.boot != 0 {
			out[name] = n.boot
		}
	}
	return out
}

// drop forgets the nodes keep rejects (pruned unknown MACs); the file
// forgets them at the next compaction.
func (bl *bootLog) drop(keep func(node string) bool) {
	bl.mu.Lock()
	defer bl.mu.Unlock()
	for name, n := range bl.nodes {
		if !keep(name) {
			bl.kept -= 1 + len(n.evs)
			delete(bl.nodes, name)
		}
	}
}
