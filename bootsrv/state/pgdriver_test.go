package state

import (
	"strings"
	"testing"
)

func TestPgSQL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`INSERT INTO t VALUES(?1, ?2) ON CONFLICT(a) DO UPDATE SET b = ?2`, `INSERT INTO t VALUES($1, $2) ON CONFLICT(a) DO UPDATE SET b = $2`},
		{`SELECT '?' , ? FROM t`, `SELECT '?' , $1 FROM t`},
		{`SELECT value FROM json_each(?)`, `SELECT value FROM dt_json_each($1)`},
		{`SELECT value FROM dt_json_each(?)`, `SELECT value FROM dt_json_each($1)`},
		{`SELECT a FROM t LIMIT -1 OFFSET ?`, `SELECT a FROM t LIMIT ALL OFFSET $1`},
		{`SELECT 'it''s ?' FROM t WHERE a = ?`, `SELECT 'it''s ?' FROM t WHERE a = $1`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := pgSQL(tc.in); got != tc.want {
				t.Errorf("pgSQL(%q)\n = %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestPgDDL(t *testing.T) {
	for i := range migrations {
		q := pgDDL(i)
		for _, bad := range []string{"WITHOUT ROWID", "AUTOINCREMENT", " BLOB", " INTEGER"} {
			if strings.Contains(q, bad) {
				t.Errorf("migration %d for PostgreSQL still has %q", i+1, bad)
			}
		}
	}
}

func TestPasswordInURLRefused(t *testing.T) {
	_, err := OpenDB("postgres://u:hunter2@127.0.0.1:1/db", t.TempDir())
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "PGPASSFILE") {
		t.Errorf("OpenDB with a password in the URL = %v, want a refusal naming PGPASSFILE without the password", err)
	}
}

// FuzzPgSQL: the rewrite never panics, leaves no placeholder "?" outside
// string literals, and keeps the literals as they are.
func FuzzPgSQL(f *testing.F) {
	f.Add(`SELECT a FROM t WHERE x = ?1 AND y = ? LIMIT -1`)
	f.Add(`INSERT INTO t SELECT value FROM json_each(?) WHERE v = 'a?''b'`)
	f.Fuzz(func(t *testing.T, q string) {
		out := pgSQL(q)
		if strings.Count(q, "'")%2 != 0 {
			return // an unterminated literal is copied as it is
		}
		if strings.Contains(stripLiterals(out), "?") {
			t.Errorf("pgSQL(%q) = %q still has a placeholder", q, out)
		}
		if stripOthers(out) != stripOthers(q) {
			t.Errorf("pgSQL(%q) = %q changed a string literal", q, out)
		}
	})
}

// stripLiterals removes '...' literals; stripOthers keeps only them.
func stripLiterals(q string) string {
	var b strings.Builder
	for i, part := range strings.Split(q, "'") {
		if i%2 == 0 {
			b.WriteString(part)
		}
	}
	return b.String()
}

func stripOthers(q string) string {
	var b strings.Builder
	for i, part := range strings.Split(q, "'") {
		if i%2 == 1 {
			b.WriteString(part + "|")
		}
	}
	return b.String()
}
