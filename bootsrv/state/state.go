// Package state keeps bootsrv's runtime state in an embedded SQLite
// database (modernc.org/sqlite, pure Go): boot-mode overrides, node events
// and the status derived from them, dynamic DHCP leases and discovered
// (unknown) nodes. The inventory file stays the source of truth for what a
// node is; this package records what happened to it.
//
// Durability: the database runs in WAL mode with synchronous=FULL, so a
// write acknowledged by any method here survives a SIGKILL of bootsrv or a
// power loss. All writes go through one connection (SQLite has a single
// writer anyway) and every method writes in one transaction, however many
// rows it touches; reads use a separate pool and do not block on writes.
//
// Boot-mode overrides come in two kinds per node: a persistent one and a
// next-boot-only ("once") one; see StartBoot for when a once override is
// consumed.
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
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// FileName is the database file inside the state directory.
const FileName = "state.db"

// Store is an open state database. Its methods are safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // the single writer connection
	r    *sql.DB // readers
	now  func() time.Time

	evCh    chan eventReq // AddEvents calls to the committer
	quit    chan struct{} // closed by Close
	stopped chan struct{} // closed when the committer returned
	once    sync.Once
}

// Open opens (creating if needed) DIR/state.db and migrates its schema.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	w, err := openDB(path, true)
	if err != nil {
		return nil, err
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	s := &Store{path: path, w: w, now: time.Now}
	if err := s.migrate(context.Background()); err != nil {
		w.Close()
		return nil, err
	}
	r, err := openDB(path, false)
	if err != nil {
		w.Close()
		return nil, err
	}
	r.SetMaxOpenConns(8)
	s.r = r
	s.evCh, s.quit, s.stopped = make(chan eventReq), make(chan struct{}), make(chan struct{})
	go s.committer()
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

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database. Pending writes are already durable.
func (s *Store) Close() error {
	s.once.Do(func() {
		if s.quit != nil {
			close(s.quit)
			<-s.stopped
		}
	})
	var errs []error
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

// tx runs fn in one write transaction.
func (s *Store) tx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", what, err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", what, err)
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
