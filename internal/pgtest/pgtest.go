// Package pgtest starts a throw-away PostgreSQL server for tests and labs:
// Debian's postgresql (initdb + pg_ctl) in a temporary folder, listening on
// a free loopback port and a Unix socket in that folder, trust
// authentication, stopped (and its folder removed) by Stop. As root it
// runs the server as the "postgres" user (initdb refuses root).
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" database/sql driver
)

// Server is a running PostgreSQL server.
type Server struct {
	Dir  string // data directory
	Port int
	bin  string
	cred *syscall.Credential
}

// BinDir finds the newest Debian PostgreSQL binaries
// (/usr/lib/postgresql/N/bin); "" when none is installed.
func BinDir() string {
	ms, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	sort.Strings(ms)
	if len(ms) == 0 {
		return ""
	}
	return filepath.Dir(ms[len(ms)-1])
}

// Start runs initdb in a fresh folder under parent and starts the server.
// As root, parent must be reachable by the postgres user (os.TempDir is).
// fast turns fsync off (unit tests; never for a durability test).
func Start(parent string, fast bool) (*Server, error) {
	bin := BinDir()
	if bin == "" {
		return nil, errors.New("postgresql not installed (no /usr/lib/postgresql/*/bin/pg_ctl; apt-get install postgresql)")
	}
	dir, err := os.MkdirTemp(parent, "pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{Dir: filepath.Join(dir, "data"), bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("pgtest: running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, fmt.Errorf("pgtest: %w", err)
		}
		// The server's user must reach dir through parent.
		os.Chmod(parent, 0o755)
	}
	if out, err := s.run("initdb", "-D", s.Dir, "-U", "postgres", "--auth=trust", "-N", "-E", "UTF8", "--locale=C"); err != nil {
		return nil, fmt.Errorf("pgtest: initdb: %w: %s", err, out)
	}
	if s.Port, err = freePort(); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nmax_connections = 200\n",
		s.Port, dir)
	if fast {
		conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	if err := s.Resume(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(s.bin, prog), args...)
	cmd.Dir = "/"
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	return cmd.CombinedOutput()
}

// Resume starts the (stopped) server and waits until it accepts connections.
func (s *Server) Resume() error {
	log := filepath.Join(filepath.Dir(s.Dir), "server.log")
	if out, err := s.run("pg_ctl", "-D", s.Dir, "-l", log, "-w", "-t", "60", "start"); err != nil {
		b, _ := os.ReadFile(log)
		return fmt.Errorf("pgtest: pg_ctl start: %w: %s\n%s", err, out, b)
	}
	return nil
}

// Pause stops the server (fast shutdown: clients are disconnected) without
// removing its data; Resume starts it again on the same port.
func (s *Server) Pause() error {
	if out, err := s.run("pg_ctl", "-D", s.Dir, "-m", "fast", "-w", "stop"); err != nil {
		return fmt.Errorf("pgtest: pg_ctl stop: %w: %s", err, out)
	}
	return nil
}

// Stop stops the server and removes its folder.
func (s *Server) Stop() error {
	err := s.Pause()
	os.RemoveAll(filepath.Dir(s.Dir))
	return err
}

// URL is the connection URL of database db.
func (s *Server) URL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// CreateDB creates database name (no error when it exists) and returns its URL.
func (s *Server) CreateDB(name string) (string, error) {
	db, err := sql.Open("pgx", s.URL("postgres"))
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE "`+name+`"`); err != nil && !strings.Contains(err.Error(), "already exists") {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	return s.URL(name), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pgtest: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
