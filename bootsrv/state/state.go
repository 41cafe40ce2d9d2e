// Package state keeps bootsrv's runtime state: boot-mode overrides, node
// events and the status derived from them, and discovered (unknown) nodes
// in an embedded SQLite database (modernc.org/sqlite, pure Go); boot
// counters and bootsrv's own per-boot events in an append-only boot log
// (boots.log, bootlog.go); dynamic
// DHCP leases in memory and in an append-only lease log (leases.log, see
// leaselog.go), like Kea's memfile. The inventory file stays the source of
// truth for what a node is; this package records what happened to it.
//
// Durability. The database runs in WAL mode with synchronous=FULL. One
// goroutine owns the single write connection and commits in groups:
// every write waiting at that moment shares one transaction and one fsync,
// each in a savepoint of its own, so one caller's error never fails
// another. The lease log is written the same way: every change waiting at
// that moment is appended with one write and one fsync. What
// "acknowledged" means, per write:
//
//   - Synchronous (SetModes, ClearModes, AddEvents, PutDiscovered,
//     PutLeases, DeleteLease, and StartBoot of a node that has a once
//     override): the call returns nil only after the fsync, so the write
//     survives a SIGKILL of bootsrv or a power loss. A mode switch
//     acknowledged to trapctl, an event acknowledged to an agent, and the
//     consumption of a --once override (before its script is served) are
//     never lost.
//   - Queued (StartBoot of a node without a once override, QueueEvents,
//     QueueLease): the call returns at once and the write is made durable
//     with the next boot log (bootlog.go) or lease log flush, at most
//     LazyDelay (10 ms) later, or by Flush called after it. A crash in that
//     window loses it: a boot counter a little low, bootsrv's own "ipxe"
//     event missing, a dynamic lease change not stored. None of these was
//     promised to anyone; a lost lease is re-derived: the client renews
//     or re-discovers, and MemLeases gives it an address again (the same
//     one when still free, as leases are sticky). Queued writes are never
//     dropped while bootsrv runs; Close writes them; reads show them at
//     once (the boot log and the leases are answered from memory, merged
//     with the database where both hold a kind: Events, LastEvent, Status).
//     Queued writes never touch SQLite: a SQLite row and status upsert per
//     boot cost more than the rest of a /ipxe request.
//
// The lease log is compacted (rewritten as one record per lease into a
// temporary file, fsynced, renamed over the log, directory fsynced) at
// Open and whenever it holds more than 4 records per lease (and at least
// 65536). A crash can tear only the last record; Open ignores a torn or
// corrupt record and everything after it, logs it, and compacts. Leases
// an older bootsrv kept in the database's leases table are moved into the
// log at Open (the table is left empty).
//
// The mode overrides and boot counters are also kept in memory (loaded at
// Open, changed after the commit that makes a change durable), so ModeFor,
// PersistentMode, Modes and StartBoot read no SQL. Other reads use a
// separate connection pool and never wait for the writer.
//
// PostgreSQL. OpenDB with a postgres:// URL keeps the same state in a
// PostgreSQL database several bootsrv replicas share (pgstore.go): the
// same statements (pgdriver.go rewrites placeholders), the same group-commit
// writer (one writer connection per replica; "durable" means committed by
// the server), the same migrations (schema_pg.go maps the storage types).
// The test suite runs every test against both backends.
package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file inside the state directory.
const FileName = "state.db"

// Store is an open state database. Its methods are safe for concurrent use.
type Store struct {
	path string
	pg   bool    // PostgreSQL (pgstore.go), shared by replicas
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers
	now  func() time.Time

	txCh       chan *txReq   // synchronous writes to the writer goroutine
	lazy       lazyQueue     // queued writes
	quit       chan struct{} // closed by Close
	writerDone chan struct{} // closed when the writer returned
	once       sync.Once
	cache      nodeCache
	observe    atomic.Pointer[func(op string, took time.Duration, err error)]
	lostLazy   atomic.Uint64 // queued writes a failed commit lost
	degraded   atomic.Bool   // shared store: the database failed its last use (replica.go)
	leases     *leaseStore   // dynamic leases: memory + DIR/leases.log (nil when shared)
	cursors    poolCursors   // shared store: where AllocLease scans each pool (leases_pg.go)
	boots      *bootLog      // boot counters and queued events: memory + DIR/boots.log

	// The pruner (prune.go): unknown MACs recorded since its last pass,
	// how many make it run early (0: no pruner), and its wake-up.
	newDiscovered, pruneAt atomic.Int64
	pruneKick              chan struct{}
}

// Open opens (creating if needed) DIR/state.db and migrates its schema.
func Open(dir string) (*Store, error) { return OpenDB("", dir) }

// OpenDB opens the state database dsn: "" is the SQLite file DIR/state.db,
// a postgres:// or postgresql:// URL a PostgreSQL database shared by
// bootsrv replicas (see pgstore.go). dir holds the files that stay local
// (the lease log of a SQLite store). The schema is migrated first;
// a database with a newer schema than this bootsrv's is refused.
func OpenDB(dsn, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	var s *Store
	if isPostgres(dsn) {
		var err error
		if s, err = openPG(dsn); err != nil {
			return nil, err
		}
	} else {
		path := filepath.Join(dir, FileName)
		w, err := openDB(path, true)
		if err != nil {
			return nil, err
		}
		w.SetMaxOpenConns(1)
		w.SetMaxIdleConns(1)
		w.SetConnMaxLifetime(0)
		s = &Store{path: path, w: w}
	}
	s.now, s.pruneKick = time.Now, make(chan struct{}, 1)
	ctx := context.Background()
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if err := s.loadCache(ctx); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("state db %s: %w", s.path, err)
	}
	var err error
	if s.pg {
		// Leases live in the shared leases table (leases_pg.go).
	} else if s.leases, err = s.openLeases(ctx, dir); err != nil {
		s.w.Close()
		return nil, err
	}
	// The boot log (bootlog.go) keeps bootsrv's own per-boot events, and
	// on SQLite the boot counters too; on a shared store the counters live
	// in the database (replica.go) and each replica keeps its own log.
	if err := s.openBoots(dir); err != nil {
		if s.leases != nil {
			s.leases.close()
		}
		s.w.Close()
		return nil, err
	}
	if s.r == nil {
		r, err := openDB(s.path, false)
		if err != nil {
			if s.leases != nil {
				s.leases.close()
			}
			s.boots.close()
			s.w.Close()
			return nil, err
		}
		r.SetMaxOpenConns(8)
		s.r = r
	}
	s.txCh, s.quit, s.writerDone = make(chan *txReq), make(chan struct{}), make(chan struct{})
	s.lazy.kick = make(chan struct{}, 1)
	go s.writer()
	return s, nil
}

func openDB(path string, writer bool) (*sql.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open state db %s: %w", path, err)
	}
	return db, nil
}

// Path is the database file (a PostgreSQL URL without its password).
func (s *Store) Path() string { return s.path }

// Close commits the queued writes and closes the database; writes after
// Close fail.
func (s *Store) Close() error {
	s.once.Do(func() {
		if s.quit != nil {
			close(s.quit)
			<-s.writerDone
		}
	})
	var errs []error
	if s.leases != nil {
		errs = append(errs, s.leases.close())
	}
	if s.boots != nil {
		errs = append(errs, s.boots.close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close state db %s: %w", s.path, err)
	}
	return nil
}

// Times are stored as Unix nanoseconds (UTC); 0 means unset.
func toDB(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromDB(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
