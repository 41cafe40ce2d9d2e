package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// maxTxBatch bounds the synchronous writes one group commit carries.
const maxTxBatch = 256

// LazyDelay is the longest a queued (lazy) write waits for company before
// the writer commits it on its own; a synchronous write commits every
// queued write at once.
const LazyDelay = 10 * time.Millisecond

// txReq is one synchronous write: fn runs inside the group's transaction
// (in a savepoint of its own when the group has several) and done receives
// the outcome after the commit.
type txReq struct {
	what string
	fn   func(*sql.Tx) error // nil: only flush the queued writes
	done chan error
}

// tx runs fn in a write transaction and returns once it is durable (or
// failed). Concurrent calls share one transaction and one fsync (group
// commit); fn's error undoes only fn's changes.
func (s *Store) tx(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	if s.txCh == nil {
		return s.txNow(ctx, what, fn) // Open's migrations
	}
	start := time.Now()
	r := &txReq{what: what, fn: fn, done: make(chan error, 1)}
	select {
	case s.txCh <- r:
	case <-s.quit:
		return fmt.Errorf("%s: state db %s is closed", what, s.path)
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", what, ctx.Err())
	}
	err := <-r.done
	s.observed("write", start, err)
	return err
}

// Flush commits every queued write (queued leases and the boot log
// included) and returns once they are durable.
func (s *Store) Flush() error {
	if s.leases == nil { // shared store: leases are written at once
		return errors.Join(s.tx(context.Background(), "flush queued writes", nil), s.boots.sync())
	}
	return errors.Join(s.tx(context.Background(), "flush queued writes", nil), s.leases.sync(), s.boots.sync())
}

// txNow runs fn in a transaction of its own, bypassing the writer.
func (s *Store) txNow(ctx context.Context, what string, fn func(*sql.Tx) error) error {
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

// writer owns the write connection: it commits synchronous writes in
// groups, each group together with every queued write, until Close; then
// it commits what is still queued.
func (s *Store) writer() {
	defer close(s.writerDone)
	batch := make([]*txReq, 0, maxTxBatch)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		batch = batch[:0]
		select {
		case r := <-s.txCh:
			batch = append(batch, r)
		case <-s.lazy.kick:
			// Only queued writes: give them LazyDelay to gather, unless a
			// synchronous write comes first.
			timer.Reset(LazyDelay)
			select {
			case r := <-s.txCh:
				batch = append(batch, r)
				timer.Stop()
			case <-timer.C:
			case <-s.quit:
				timer.Stop()
				s.commit(nil)
				return
			}
		case <-s.quit:
			s.commit(nil)
			return
		}
	more:
		for len(batch) < maxTxBatch {
			select {
			case r := <-s.txCh:
				batch = append(batch, r)
			default:
				break more
			}
		}
		s.commit(batch)
	}
}

// commit writes the queued writes and batch in one transaction and
// answers every request of batch after the commit. Requests are taken
// before the queue (in writer): a queued write that happened before a
// request was submitted is in this transaction or an earlier one.
func (s *Store) commit(batch []*txReq) {
	lz := s.lazy.take()
	if lz.empty() && !slices.ContainsFunc(batch, func(r *txReq) bool { return r.fn != nil }) {
		for _, r := range batch {
			r.done <- nil // flushes with nothing to flush
		}
		return
	}
	ctx := context.Background()
	start := time.Now()
	errs := make([]error, len(batch))
	answer := func() {
		for i, r := range batch {
			r.done <- errs[i]
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		for i, r := range batch {
			errs[i] = fmt.Errorf("%s: begin: %w", r.what, err)
		}
		s.lazyLost(lz, err)
		answer()
		return
	}
	solo := len(batch) == 1 && lz.empty() // no savepoints needed
	if !lz.empty() {
		if err := s.savepoint(tx, func() error { return s.writeLazy(ctx, tx, lz) }); err != nil {
			s.lazyLost(lz, err)
			lz = lazyBatch{}
		}
	}
	for i, r := range batch {
		if r.fn == nil {
			continue
		}
		if solo {
			if err := r.fn(tx); err != nil {
				tx.Rollback()
				errs[i] = fmt.Errorf("%s: %w", r.what, err)
				s.observed("commit", start, err)
				answer()
				return
			}
			continue
		}
		if err := s.savepoint(tx, func() error { return r.fn(tx) }); err != nil {
			errs[i] = fmt.Errorf("%s: %w", r.what, err)
		}
	}
	err = tx.Commit()
	s.observed("commit", start, err)
	if err != nil {
		for i, r := range batch {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("%s: commit: %w", r.what, err)
			}
		}
		s.lazyLost(lz, err)
	}
	answer()
}

// savepoint runs fn so that its error undoes only its own changes.
func (s *Store) savepoint(tx *sql.Tx, fn func() error) error {
	if _, err := tx.Exec("SAVEPOINT op"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := fn(); err != nil {
		if _, rerr := tx.Exec("ROLLBACK TO op"); rerr != nil {
			err = fmt.Errorf("%w (rollback: %v)", err, rerr)
		}
		tx.Exec("RELEASE op")
		return err
	}
	if _, err := tx.Exec("RELEASE op"); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// lazyLost logs queued writes that could not be stored. They were never
// acknowledged; the in-memory state keeps them until bootsrv restarts.
func (s *Store) lazyLost(lz lazyBatch, err error) {
	if lz.empty() {
		return
	}
	s.lostLazy.Add(uint64(lz.size()))
	slog.Default().Error("state: queued writes not stored", "db", s.path,
		"boots", len(lz.boots), "events", len(lz.events), "err", err)
}

// observed reports an operation's latency to the observer (SetObserver).
func (s *Store) observed(op string, start time.Time, err error) {
	if f := s.observe.Load(); f != nil {
		(*f)(op, time.Since(start), err)
	}
}

// SetObserver makes the store report the latency of its operations to f:
// op "commit" for every group commit (one fsync), "write" for every
// synchronous write as its caller waits for it (queueing included). f
// must be quick and safe for concurrent use.
func (s *Store) SetObserver(f func(op string, took time.Duration, err error)) { s.observe.Store(&f) }

// QueuedLost is how many queued writes failed commits lost since Open
// (queued lease changes whose append to the lease log failed included;
// those are written again by the next compaction if bootsrv keeps running).
func (s *Store) QueuedLost() uint64 {
	if s.leases == nil {
		return s.lostLazy.Load() + s.boots.lost.Load()
	}
	return s.lostLazy.Load() + s.leases.lost.Load() + s.boots.lost.Load()
}
