package iscsi

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
)

// SyslogSocket is where iscsid (syslog(3)) sends its messages. The
// initramfs has no syslog daemon, so without a listener iscsid's reasons
// (e.g. "Login authentication failed with target ...") are lost; the
// login step starts one in the agent that logs each message and keeps the
// last ones for error reports.
const SyslogSocket = "/dev/log"

// syslogSource is the optional Storage extra that captures syslog.
type syslogSource interface {
	// StartSyslog listens on SyslogSocket (once; an existing listener
	// of another program is left alone).
	StartSyslog(log *slog.Logger) error
	// SyslogSince returns the messages after mark and the new mark.
	SyslogSince(mark int) ([]string, int)
}

var syslogRing struct {
	once  sync.Once
	err   error
	mu    sync.Mutex
	lines []string // the last syslogKeep messages
	total int      // messages ever received
}

const syslogKeep = 256

// priority and timestamp prefix of a syslog(3) datagram:
// "<27>Nov 23 19:36:33 iscsid: message".
var syslogPrefix = regexp.MustCompile(`^<\d+>(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?`)

// StartSyslog implements syslogSource.
func (Real) StartSyslog(log *slog.Logger) error {
	r := &syslogRing
	r.once.Do(func() {
		if fi, err := os.Lstat(SyslogSocket); err == nil && fi.Mode()&fs.ModeSocket != 0 {
			if c, err := net.Dial("unixgram", SyslogSocket); err == nil {
				c.Close()
				r.err = fmt.Errorf("%s: another syslog listener owns it", SyslogSocket)
				return
			}
			os.Remove(SyslogSocket)
		}
		c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: SyslogSocket, Net: "unixgram"})
		if err != nil {
			r.err = fmt.Errorf("listen %s: %w", SyslogSocket, err)
			return
		}
		go func() {
			buf := make([]byte, 8192)
			for {
				n, _, err := c.ReadFromUnix(buf)
				if err != nil {
					if !errors.Is(err, net.ErrClosed) {
						log.Warn("syslog listener stopped", "err", err)
					}
					return
				}
				msg := strings.TrimSpace(syslogPrefix.ReplaceAllString(string(buf[:n]), ""))
				r.mu.Lock()
				r.lines = append(r.lines, msg)
				if len(r.lines) > syslogKeep {
					r.lines = r.lines[len(r.lines)-syslogKeep:]
				}
				r.total++
				r.mu.Unlock()
				log.Info("syslog", "msg", msg)
			}
		}()
	})
	return r.err
}

// SyslogSince implements syslogSource.
func (Real) SyslogSince(mark int) ([]string, int) {
	r := &syslogRing
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.total - mark
	if n > len(r.lines) {
		n = len(r.lines)
	}
	if n <= 0 {
		return nil, r.total
	}
	return append([]string(nil), r.lines[len(r.lines)-n:]...), r.total
}
