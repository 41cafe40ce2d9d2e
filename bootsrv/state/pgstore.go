package state

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// isPostgres reports whether dsn names a PostgreSQL database.
func isPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// openPG connects to the PostgreSQL database dsn: one writer connection
// (the group-commit writer, as with SQLite) and a pool of readers.
func openPG(dsn string) (*Store, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("state db: not a valid postgres:// URL") // url's error would show a password
	}
	name := u.Redacted()
	if _, ok := u.User.Password(); ok {
		return nil, fmt.Errorf("state db %s: a password in the URL is readable by every user of the host (ps); put it in PGPASSFILE or ~/.pgpass", name)
	}
	w, err := sql.Open(pgDriverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open state db %s: %w", name, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	if err := w.Ping(); err != nil {
		w.Close()
		return nil, fmt.Errorf("open state db %s: %w", name, err)
	}
	r, err := sql.Open(pgDriverName, dsn)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open state db %s: %w", name, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	return &Store{path: name, pg: true, w: w, r: r}, nil
}
