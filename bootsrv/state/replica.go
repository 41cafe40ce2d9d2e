package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Replicas. On PostgreSQL several bootsrv processes share one database, so
// a node's in-memory entry (cache.go) can be stale: another replica may
// have set a mode, served a boot or registered a key. A shared store
// therefore reads through: before it answers from or decides on a node's
// entry it reloads that entry from the database (refreshNode: one indexed
// query per table), and StartBoot counts and consumes in one transaction
// whose row lock on node_status serializes the node's boots across
// replicas. The entries stay as the last known state: when the database
// cannot be reached, reads answer from them (read-only: writes fail), the
// store is Degraded, and the first read that works again clears it. A
// poller (RunRefresher) reloads every override each second, so the last
// known state stays fresh for nodes nobody asked about.

// refreshNode reloads node's boot counter, overrides and boot key into its
// entry, in one query (one row per override, at least one). Callers hold
// e.op. On error the entry is left as it was.
func (s *Store) refreshNode(ctx context.Context, node string, e *nodeEntry) error {
	rows, err := s.r.QueryContext(ctx, `SELECT COALESCE(n.boots, 0),
			m.once, m.mode, m.set_at, m.consumed_boot,
			k.boot, k.key, k.ipxe_boot, k.registered, k.remote, k.os_token
		FROM (SELECT CAST(? AS TEXT) AS node) q
		LEFT JOIN node_status n ON n.node = q.node
		LEFT JOIN mode_overrides m ON m.node = q.node
		LEFT JOIN boot_keys k ON k.node = q.node`, node)
	if err != nil {
		return s.unreachable(fmt.Errorf("read state of %s: %w", node, err))
	}
	defer rows.Close()
	var boots int64
	var persist, once Override
	var hasPersist, hasOne bool
	var bk *BootKey
	for rows.Next() {
		var mOnce, mSetAt, mConsumed, kIPXE, kReg sql.NullInt64
		var mMode, kBoot, kRemote, kOS sql.NullString
		var kKey []byte
		if err := rows.Scan(&boots, &mOnce, &mMode, &mSetAt, &mConsumed, &kBoot, &kKey, &kIPXE, &kReg, &kRemote, &kOS); err != nil {
			return s.unreachable(fmt.Errorf("read state of %s: %w", node, err))
		}
		if mMode.Valid {
			o := Override{Node: node, Once: mOnce.Int64 != 0, Mode: manifest.Mode(mMode.String),
				SetAt: fromDB(mSetAt.Int64), ConsumedBoot: mConsumed.Int64}
			if o.Once {
				once, hasOne = o, true
			} else {
				persist, hasPersist = o, true
			}
		}
		if kBoot.Valid && bk == nil {
			bk = &BootKey{Node: node, Boot: kBoot.String, Key: kKey, IPXEBoot: kIPXE.Int64,
				Registered: fromDB(kReg.Int64), Remote: kRemote.String, OSToken: kOS.String}
		}
	}
	if err := rows.Err(); err != nil {
		return s.unreachable(fmt.Errorf("read state of %s: %w", node, err))
	}
	s.reachable()
	s.cache.mu.Lock()
	e.boots, e.persist, e.hasPersist, e.once, e.hasOne, e.bootKey = boots, persist, hasPersist, once, hasOne, bk
	s.cache.mu.Unlock()
	return nil
}

// readThrough refreshes node's entry on a shared store; a failure leaves
// the last known state in place (logged, Degraded).
func (s *Store) readThrough(node string, e *nodeEntry) {
	if s.pg {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		s.refreshNode(ctx, node, e)
	}
}

// readTimeout bounds a read-through, so that an unreachable database
// delays a boot by at most this much before the last known state answers.
const readTimeout = 2 * time.Second

// startBootShared is StartBoot on a shared store: the boot number comes
// from the database and a pending once override is consumed by exactly one
// boot, whichever replica serves it. Callers hold e.op.
func (s *Store) startBootShared(node string, e *nodeEntry) (o Override, ok bool, boot int64, err error) {
	ctx := context.Background()
	err = s.txRetry(ctx, "start boot of "+node, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO node_status(node, boots) VALUES(?1, 1)
			ON CONFLICT(node) DO UPDATE SET boots = node_status.boots + 1 RETURNING boots`, node).Scan(&boot); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM mode_overrides
			WHERE node = ? AND once = 1 AND consumed_boot != 0 AND consumed_boot < ?`, node, boot); err != nil {
			return err
		}
		// This boot's override, decided in the transaction: the once
		// override it consumed, else the persistent one.
		o, ok = Override{}, false
		var mode string
		var setAt int64
		err := tx.QueryRowContext(ctx, `UPDATE mode_overrides SET consumed_boot = ?
			WHERE node = ? AND once = 1 AND consumed_boot = 0 RETURNING mode, set_at`, boot, node).Scan(&mode, &setAt)
		if err == sql.ErrNoRows {
			o.Once = false
			err = tx.QueryRowContext(ctx, `SELECT mode, set_at FROM mode_overrides WHERE node = ? AND once = 0`, node).Scan(&mode, &setAt)
		} else {
			o.Once, o.ConsumedBoot = true, boot
		}
		switch {
		case err == sql.ErrNoRows:
			return nil
		case err != nil:
			return err
		}
		o.Node, o.Mode, o.SetAt, ok = node, manifest.Mode(mode), fromDB(setAt), true
		return nil
	})
	if err != nil {
		if !isUnreachable(err) {
			return Override{}, false, 0, err // e.g. a deadlock with another replica: the node retries
		}
		s.unreachable(err)
		// Read-only: serve the last known state without consuming anything.
		s.cache.mu.RLock()
		o, ok = e.effective()
		boot = e.boots
		s.cache.mu.RUnlock()
		if o.Once {
			o, ok = e.persist, e.hasPersist // a once override is consumed only with the database
		}
		return o, ok, boot, nil
	}
	ctx2, cancel := context.WithTimeout(ctx, readTimeout)
	defer cancel()
	s.refreshNode(ctx2, node, e) // the last known state; o is already decided
	return o, ok, boot, nil
}

// unreachable records that the shared database cannot be reached (logged
// on the change) when err says so, and returns err.
func (s *Store) unreachable(err error) error {
	if isUnreachable(err) && s.degraded.CompareAndSwap(false, true) {
		slog.Default().Error("state: database unreachable, serving the last known state read-only", "db", s.path, "err", err)
	}
	return err
}

func (s *Store) reachable() {
	if s.degraded.CompareAndSwap(true, false) {
		slog.Default().Info("state: database reachable again", "db", s.path)
	}
}

// Degraded reports whether the shared database failed its last use: the
// store answers from its last known state and refuses changes.
func (s *Store) Degraded() bool { return s.degraded.Load() }

// Shared reports whether the store is a database shared by replicas.
func (s *Store) Shared() bool { return s.pg }

// reloadOverrides replaces every entry's overrides and boot counter with
// the database's (shared store: Modes and the refresher).
func (s *Store) reloadOverrides(ctx context.Context) error {
	rows, err := s.r.QueryContext(ctx, `SELECT m.node, m.once, m.mode, m.set_at, m.consumed_boot, COALESCE(n.boots, 0)
		FROM mode_overrides m LEFT JOIN node_status n ON n.node = m.node`)
	if err != nil {
		return s.unreachable(fmt.Errorf("reload overrides: %w", err))
	}
	type row struct {
		o     Override
		boots int64
	}
	var all []row
	for rows.Next() {
		var r row
		var mode string
		var setAt int64
		if err := rows.Scan(&r.o.Node, &r.o.Once, &mode, &setAt, &r.o.ConsumedBoot, &r.boots); err != nil {
			rows.Close()
			return s.unreachable(fmt.Errorf("reload overrides: %w", err))
		}
		r.o.Mode, r.o.SetAt = manifest.Mode(mode), fromDB(setAt)
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.unreachable(fmt.Errorf("reload overrides: %w", err))
	}
	s.reachable()
	c := &s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.nodes {
		e.hasPersist, e.hasOne = false, false
		e.persist, e.once = Override{}, Override{}
	}
	for _, r := range all {
		e := c.nodes[r.o.Node]
		if e == nil {
			e = &nodeEntry{}
			c.nodes[r.o.Node] = e
		}
		e.boots = max(e.boots, r.boots)
		if r.o.Once {
			e.once, e.hasOne = r.o, true
		} else {
			e.persist, e.hasPersist = r.o, true
		}
	}
	return nil
}

// RunRefresher reloads the overrides every interval until ctx ends, so a
// replica's last known state follows the other replicas' changes (shared
// store; nothing to do on SQLite).
func (s *Store) RunRefresher(ctx context.Context, every time.Duration) {
	if !s.pg {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.quit:
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, readTimeout)
			s.reloadOverrides(rctx)
			cancel()
		}
	}
}

// readNode refreshes node's entry before a read (shared store only).
func (s *Store) readNode(node string) {
	if !s.pg {
		return
	}
	e := s.cache.entry(node)
	e.op.Lock()
	s.readThrough(node, e)
	e.op.Unlock()
}

// isUnreachable tells a database that cannot be reached or is shutting
// down (no PostgreSQL error, or one of class 08 connection exception, 57P
// operator intervention, 53 insufficient resources) from an error the
// server gave about the statement (a deadlock, a constraint).
func isUnreachable(err error) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return true
	}
	return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || strings.HasPrefix(pe.Code, "53")
}

// conflictRetries is how often a shared-store transaction that lost a
// deadlock or serialization conflict with another replica is run again.
const conflictRetries = 8

// isConflict reports a deadlock or serialization failure: PostgreSQL
// rolled the statement back and running it again may succeed.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// txRetry is tx, run again after a conflict with another replica.
func (s *Store) txRetry(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	for i := 0; ; i++ {
		err := s.tx(ctx, what, fn)
		if err == nil || i == conflictRetries || !isConflict(err) {
			return err
		}
		time.Sleep(time.Duration(1+i) * time.Millisecond)
	}
}
