package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Token is an admin bearer token's record. The secret itself is never
// stored: Hash is the SHA-256 of its secret part (package
// bootsrv/admintoken makes and checks them).
type Token struct {
	ID        string // public part of the token text
	Name      string
	Hash      []byte
	Created   time.Time
	CreatedBy string
	Expires   time.Time // zero: never
	Revoked   time.Time // zero: not revoked
	RevokedBy string
}

// ErrTokenExists is returned by AddToken for a name already in use.
var ErrTokenExists = errors.New("a token of that name exists")

// ErrNoToken is returned for a token name or ID the store does not hold.
var ErrNoToken = errors.New("no such token")

// AddToken stores a new token record; durable when it returns. A revoked
// token keeps its name: names are never reused, so audit records stay
// unambiguous.
func (s *Store) AddToken(t Token) error {
	ctx := context.Background()
	err := s.tx(ctx, "add admin token "+t.Name, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO admin_tokens(id, name, hash, created, created_by, expires)
			VALUES (?, ?, ?, ?, ?, ?)`, t.ID, t.Name, t.Hash, toDB(t.Created), t.CreatedBy, toDB(t.Expires))
		if err != nil && isUniqueViolation(err, "admin_tokens", "name") {
			return ErrTokenExists
		}
		return err
	})
	if errors.Is(err, ErrTokenExists) {
		return fmt.Errorf("admin token %s: %w", t.Name, ErrTokenExists)
	}
	return err
}

const tokenCols = `id, name, hash, created, created_by, expires, revoked, revoked_by`

func scanToken(sc interface{ Scan(...any) error }) (Token, error) {
	var t Token
	var created, expires, revoked int64
	err := sc.Scan(&t.ID, &t.Name, &t.Hash, &created, &t.CreatedBy, &expires, &revoked, &t.RevokedBy)
	t.Created, t.Expires, t.Revoked = fromDB(created), fromDB(expires), fromDB(revoked)
	return t, err
}

// TokenByID reads one token record, straight from the database (no cache:
// a revocation counts at the next request). ErrNoToken if absent.
func (s *Store) TokenByID(id string) (Token, error) {
	t, err := scanToken(s.r.QueryRow(`SELECT `+tokenCols+` FROM admin_tokens WHERE id = ?`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Token{}, ErrNoToken
	case err != nil:
		return Token{}, fmt.Errorf("admin token: %w", err)
	}
	return t, nil
}

// Tokens lists every token record, oldest first.
func (s *Store) Tokens() ([]Token, error) {
	rows, err := s.r.Query(`SELECT ` + tokenCols + ` FROM admin_tokens ORDER BY created, name`)
	if err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	defer rows.Close()
	out := []Token{}
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("admin tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("admin tokens: %w", err)
	}
	return out, nil
}

// RevokeToken marks token name revoked at at by by; durable when it
// returns. ErrNoToken if there is no such token; revoking a revoked token
// keeps its first revocation and is not an error.
func (s *Store) RevokeToken(name, by string, at time.Time) (Token, error) {
	ctx := context.Background()
	err := s.tx(ctx, "revoke admin token "+name, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE admin_tokens SET revoked = ?, revoked_by = ?
			WHERE name = ? AND revoked = 0`, toDB(at), by, name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM admin_tokens WHERE name = ?`, name).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return ErrNoToken
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNoToken) {
			return Token{}, fmt.Errorf("admin token %s: %w", name, ErrNoToken)
		}
		return Token{}, err
	}
	return scanToken(s.r.QueryRow(`SELECT `+tokenCols+` FROM admin_tokens WHERE name = ?`, name))
}
