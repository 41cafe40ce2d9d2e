package main

import (
	"bufio"
	"flag"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

var consoleFor time.Duration

var consoleCmd = &command{
	name: "console", args: "NAME [--for D]", summary: "attach to a node's serial console (Serial-over-LAN through its BMC)",
	help: "bootsrv opens the SOL session with the node's BMC (bmc_* attributes, docs/power.md) and relays it.\n" +
		"On a terminal the input is raw; ~. at the start of a line detaches. --for D detaches after D\n" +
		"(for scripts: the end of standard input then does not end the session).",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.DurationVar(&consoleFor, "for", 0, "detach after this long")
	},
	run: func(e *env, args []string) error {
		conn, err := e.client().Console(e.ctx, args[0])
		if err != nil {
			return err
		}
		var closeOnce sync.Once
		end := func() { closeOnce.Do(func() { conn.Close() }) }
		defer end()
		if f, ok := stdinReader.(*os.File); ok {
			if restore, err := makeRaw(int(f.Fd())); err == nil {
				defer restore()
				printf(e.stderr, "[console %s: ~. detaches]\r\n", args[0])
			}
		}
		if consoleFor > 0 {
			timer := time.AfterFunc(consoleFor, end)
			defer timer.Stop()
		}
		go func() {
			_, err := io.Copy(conn, &detachReader{r: bufio.NewReader(stdinReader), lineStart: true})
			if err == nil && consoleFor > 0 {
				return // end of input: --for ends the session
			}
			end()
		}()
		// Ends when bootsrv closes (a failure is its last line) or we do.
		_, _ = io.Copy(e.stdout, conn)
		return nil
	},
}

// detachReader passes input through until "~." at the start of a line,
// which reads as the end of input.
type detachReader struct {
	r         *bufio.Reader
	lineStart bool
}

func (d *detachReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := d.r.ReadByte()
	if err != nil {
		return 0, err
	}
	if d.lineStart && b == '~' {
		if next, err := d.r.Peek(1); err == nil && next[0] == '.' {
			return 0, io.EOF
		}
	}
	d.lineStart = b == '\r' || b == '\n'
	p[0] = b
	return 1, nil
}

// makeRaw puts terminal fd in raw mode (cfmakeraw) and returns what
// restores it; an error when fd is not a terminal.
func makeRaw(fd int) (func(), error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return nil, err
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
