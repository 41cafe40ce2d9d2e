// Package adminsock is bootsrv's admin socket: a Unix stream socket for
// admins on bootsrv's own host (docs/threat-model.md, "Admin
// credentials"). Listen makes it (mode 0600; its folder 0700 when Listen
// creates it) and Peer reads who connected (SO_PEERCRED), which bootsrv's
// API turns into the admin's identity.
package adminsock

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Listen listens on the Unix socket at path. A stale socket file (nothing
// answers on it) is replaced; a live one is an error naming it, as is a
// path that is not a socket.
func Listen(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("admin socket folder %s: %w", dir, err)
		}
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("admin socket %s: exists and is not a socket; remove it or choose another --admin-socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("admin socket %s: another process (a running bootsrv?) listens on it", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("admin socket %s: remove stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket %s: %w", path, err)
	}
	// Between Listen and Chmod the socket has the umask's mode; a caller
	// who connects then is still checked by Peer (uid) in bootsrv's API.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("admin socket %s: chmod: %w", path, err)
	}
	return ln, nil
}

// Peer returns the uid and pid of the process at the other end of c, a
// Unix socket connection, as the kernel recorded them at connect.
func Peer(c net.Conn) (uid, pid int, err error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return 0, 0, fmt.Errorf("peer credentials: %T is not a socket", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, 0, fmt.Errorf("peer credentials: %w", err)
	}
	var cred *unix.Ucred
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		cred, gerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, 0, fmt.Errorf("peer credentials: %w", err)
	}
	if gerr != nil {
		return 0, 0, fmt.Errorf("peer credentials: %w", gerr)
	}
	return int(cred.Uid), int(cred.Pid), nil
}
