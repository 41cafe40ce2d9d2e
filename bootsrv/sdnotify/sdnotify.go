// Package sdnotify speaks systemd's service notification protocol
// (sd_notify(3)): one datagram of newline-separated KEY=VALUE assignments
// sent to the unix socket named by $NOTIFY_SOCKET. It lets bootsrv run as a
// Type=notify unit: READY=1 once its listeners are open, RELOADING=1 and
// READY=1 around a SIGHUP reload, STOPPING=1 on shutdown.
//
// Outside systemd ($NOTIFY_SOCKET unset) every call does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// Notifier sends notifications to one socket.
type Notifier struct {
	// Socket is the $NOTIFY_SOCKET value: a path, or "@name" for an
	// abstract socket. Empty: notifications are dropped.
	Socket string
}

// FromEnv returns a Notifier for $NOTIFY_SOCKET.
func FromEnv() Notifier { return Notifier{Socket: os.Getenv("NOTIFY_SOCKET")} }

// Enabled reports whether notifications go anywhere.
func (n Notifier) Enabled() bool { return n.Socket != "" }

// Send sends state (e.g. "READY=1\nSTATUS=serving") as one datagram.
func (n Notifier) Send(state string) error {
	if n.Socket == "" {
		return nil
	}
	addr := n.Socket
	if addr[0] == '@' {
		addr = "\x00" + addr[1:] // abstract namespace
	} else if addr[0] != '/' {
		return fmt.Errorf("sd_notify: NOTIFY_SOCKET %q: want an absolute path or @name", n.Socket)
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.Socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %s: %w", n.Socket, err)
	}
	return nil
}

// Ready tells systemd the service is up, with a status line.
func (n Notifier) Ready(status string) error {
	return n.Send("READY=1\nSTATUS=" + status)
}

// Reloading tells systemd a reload started; call Ready when it is done.
// MONOTONIC_USEC is required by systemd's notify-reload protocol and
// harmless for Type=notify.
func (n Notifier) Reloading() error {
	return n.Send("RELOADING=1\nMONOTONIC_USEC=" + strconv.FormatInt(monotonicUsec(), 10))
}

// Stopping tells systemd the service is shutting down.
func (n Notifier) Stopping() error { return n.Send("STOPPING=1") }

// monotonicUsec is CLOCK_MONOTONIC in microseconds.
func monotonicUsec() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Sec*int64(time.Second/time.Microsecond) + ts.Nsec/int64(time.Microsecond)
}
