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
