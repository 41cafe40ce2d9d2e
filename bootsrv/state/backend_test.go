package state

import (
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/pgtest"
)

// The conformance suite: every test of this package runs against SQLite,
// then again against PostgreSQL (a throw-away server started here), except
// those that check SQLite's own files (sqliteOnly). Without PostgreSQL the
// second pass is skipped, or fails when DT_LAB_REQUIRED=1.

// pgPortEnv carries the test server's port to this pass and to the child
// processes the SIGKILL tests start.
const pgPortEnv = "DT_STATE_TEST_PGPORT"

func TestMain(m *testing.M) {
	if os.Getenv(pgPortEnv) != "" { // a child of a PostgreSQL pass
		os.Exit(m.Run())
	}
	code := m.Run()
	if code != 0 || flagSet("test.fuzz") || flagSet("test.fuzzworker") {
		os.Exit(code) // fuzzing: SQLite only
	}
	srv, err := pgtest.Start(os.TempDir(), true)
	if err != nil {
		fmt.Fprintf(os.Stderr, "state: PostgreSQL pass skipped: %v\n", err)
		if os.Getenv("DT_LAB_REQUIRED") == "1" {
			os.Exit(1)
		}
		os.Exit(0)
	}
	fmt.Fprintf(os.Stderr, "state: PostgreSQL pass (port %d)\n", srv.Port)
	os.Setenv(pgPortEnv, strconv.Itoa(srv.Port))
	code = m.Run()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

// onPG reports whether this pass runs on PostgreSQL.
func onPG() bool { return os.Getenv(pgPortEnv) != "" }

// sqliteOnly skips a test of SQLite's own files in the PostgreSQL pass.
func sqliteOnly(t testing.TB) {
	t.Helper()
	if onPG() {
		t.Skip("checks the SQLite backend's files")
	}
}

// testDSN is the backend of this pass for a test's state dir: "" (SQLite
// in dir) or a PostgreSQL database of its own, named after dir, so that
// reopening dir reopens the same database.
func testDSN(dir string) (string, error) {
	port := os.Getenv(pgPortEnv)
	if port == "" {
		return "", nil
	}
	h := sha256.Sum256([]byte(dir))
	name := "t_" + hex.EncodeToString(h[:10])
	base := "postgres://postgres@127.0.0.1:" + port + "/"
	db, err := sql.Open("pgx", base+"postgres?sslmode=disable")
	if err != nil {
		return "", err
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE DATABASE ` + name); err != nil && !strings.Contains(err.Error(), "already exists") {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return base + name + "?sslmode=disable", nil
}

// testOpen opens dir's store on this pass's backend.
func testOpen(dir string) (*Store, error) {
	dsn, err := testDSN(dir)
	if err != nil {
		return nil, err
	}
	return OpenDB(dsn, dir)
}

// flagSet reports whether the testing flag name has a non-default value.
func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != f.DefValue
}
