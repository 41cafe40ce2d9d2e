package state

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL backend runs the same SQL text as SQLite: the "dt-pgx"
// driver wraps pgx's database/sql driver and rewrites each statement once
// (cached) from the SQLite dialect this package writes in:
//
//   - placeholders "?" and "?N" become "$k" and "$N";
//   - "LIMIT -1" (no limit) becomes "LIMIT ALL";
//   - json_each(...) calls dt_json_each, a SQL function the PostgreSQL
//     schema defines with SQLite's result columns (key, value as text).
//
// Go bools are sent as 0/1, as SQLite stores them. Everything else must be
// portable SQL already: ON CONFLICT upserts, CAST(? AS BIGINT) where a
// parameter's type cannot be inferred, table-qualified columns in
// ON CONFLICT ... DO UPDATE expressions.
const pgDriverName = "dt-pgx"

func init() { sql.Register(pgDriverName, pgDriver{stdlib.GetDefaultDriver()}) }

var pgRewrites sync.Map // SQLite text -> PostgreSQL text

// pgSQL rewrites q from this package's SQLite dialect to PostgreSQL.
func pgSQL(q string) string {
	if v, ok := pgRewrites.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0 // bare placeholders so far
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'': // copy string literals as they are
			j := strings.IndexByte(q[i+1:], '\'')
			if j < 0 {
				b.WriteString(q[i:])
				i = len(q)
				continue
			}
			b.WriteString(q[i : i+j+2])
			i += j + 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			b.WriteByte('$')
			if j > i+1 {
				b.WriteString(q[i+1 : j])
			} else {
				n++
				b.WriteString(itoa(n))
			}
			i = j - 1
		case hasWordAt(q, i, "LIMIT -1"):
			b.WriteString("LIMIT ALL")
			i += len("LIMIT -1") - 1
		case hasWordAt(q, i, "json_each("):
			b.WriteString("dt_json_each(")
			i += len("json_each(") - 1
		default:
			b.WriteByte(c)
		}
	}
	out := b.String()
	pgRewrites.Store(q, out)
	return out
}

// hasWordAt reports whether q has w at i, not preceded by an identifier
// character.
func hasWordAt(q string, i int, w string) bool {
	if !strings.HasPrefix(q[i:], w) {
		return false
	}
	if i == 0 {
		return true
	}
	p := q[i-1]
	return !(p == '_' || p >= 'a' && p <= 'z' || p >= 'A' && p <= 'Z' || p >= '0' && p <= '9')
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

type pgDriver struct{ d driver.Driver }

func (p pgDriver) Open(name string) (driver.Conn, error) {
	c, err := p.d.Open(name)
	if err != nil {
		return nil, err
	}
	return &pgConn{c}, nil
}

// pgConn forwards to pgx's connection with rewritten SQL.
type pgConn struct{ c driver.Conn }

func (c *pgConn) Prepare(q string) (driver.Stmt, error) { return c.c.Prepare(pgSQL(q)) }
func (c *pgConn) Close() error                          { return c.c.Close() }

//lint:ignore SA1019 driver.Conn requires Begin.
func (c *pgConn) Begin() (driver.Tx, error) { return c.c.Begin() } //nolint:staticcheck

func (c *pgConn) BeginTx(ctx context.Context, o driver.TxOptions) (driver.Tx, error) {
	return c.c.(driver.ConnBeginTx).BeginTx(ctx, o)
}

func (c *pgConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.c.(driver.ConnPrepareContext).PrepareContext(ctx, pgSQL(q))
}

func (c *pgConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	return c.c.(driver.ExecerContext).ExecContext(ctx, pgSQL(q), args)
}

func (c *pgConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	return c.c.(driver.QueryerContext).QueryContext(ctx, pgSQL(q), args)
}

func (c *pgConn) Ping(ctx context.Context) error { return c.c.(driver.Pinger).Ping(ctx) }

func (c *pgConn) ResetSession(ctx context.Context) error {
	if r, ok := c.c.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *pgConn) IsValid() bool {
	if v, ok := c.c.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// CheckNamedValue sends bools as integers (SQLite's 0/1) and leaves the
// rest to pgx.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return c.c.(driver.NamedValueChecker).CheckNamedValue(nv)
}

// Portable SQL this package's statements share between the backends.
const (
	// noLimit stands for "no limit" in a LIMIT parameter (SQLite's -1 is
	// an error in PostgreSQL).
	noLimit = 1 << 62
	// maxBoots keeps the larger boot counter in an upsert of node_status
	// (SQLite's two-argument MAX is not PostgreSQL's).
	maxBoots = `CASE WHEN excluded.boots > node_status.boots THEN excluded.boots ELSE node_status.boots END`
)

// isUniqueViolation reports whether err is a unique constraint violation
// of table.column, in SQLite's or PostgreSQL's words.
func isUniqueViolation(err error, table, column string) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed: "+table+"."+column) ||
		strings.Contains(msg, "SQLSTATE 23505") && strings.Contains(msg, table+"_"+column+"_key")
}
