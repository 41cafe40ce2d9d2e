package state

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AuditRecord is one admin change: who made it with which credential,
// from where, what (method, path, a summary that never holds a secret
// value) and how it ended (the HTTP status).
type AuditRecord struct {
	ID      int64
	Time    time.Time
	Who     string // credential: "token:NAME" or "local:root(uid 0)"
	From    string // remote address, or "unix"
	Method  string
	Path    string
	Summary string
	Status  int
}

// AddAudit appends a record and returns once it is durable.
func (s *Store) AddAudit(rec AuditRecord) error {
	if rec.Time.IsZero() {
		rec.Time = s.now()
	}
	ctx := context.Background()
	return s.tx(ctx, "audit "+rec.Method+" "+rec.Path, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit(time, who, source, method, path, summary, status)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, toDB(rec.Time), rec.Who, rec.From, rec.Method, rec.Path, rec.Summary, rec.Status)
		return err
	})
}

// Audit returns the last limit records, oldest first (limit <= 0: all).
func (s *Store) Audit(limit int) ([]AuditRecord, error) {
	if limit <= 0 {
		limit = noLimit
	}
	rows, err := s.r.Query(`SELECT id, time, who, source, method, path, summary, status FROM
		(SELECT * FROM audit ORDER BY id DESC LIMIT ?) AS a ORDER BY id`, limit)
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []AuditRecord{}
	for rows.Next() {
		var r AuditRecord
		var t int64
		if err := rows.Scan(&r.ID, &t, &r.Who, &r.From, &r.Method, &r.Path, &r.Summary, &r.Status); err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		r.Time = fromDB(t)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	return out, nil
}
