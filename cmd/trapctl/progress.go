package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// byteProgress draws "PHASE [####......]  42% 12.0MiB/28.5MiB" on w: on a
// terminal one line redrawn in place (at most every 100 ms), otherwise a
// line per 10 %. Calls must be serialised (rawdisk.LUKSOptions.Progress is).
type byteProgress struct {
	w        io.Writer
	phase    string
	tty      bool
	last     time.Time
	tenth    int64
	lastText string
}

func newByteProgress(w io.Writer, phase string) *byteProgress {
	return &byteProgress{w: w, phase: phase, tty: isTTY(w), tenth: -1}
}

func isTTY(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// update implements rawdisk.LUKSOptions.Progress.
func (p *byteProgress) update(done, total int64) {
	if total <= 0 {
		return
	}
	frac := float64(done) / float64(total)
	if !p.tty {
		if t := int64(frac * 10); t != p.tenth {
			p.tenth = t
			fmt.Fprintln(p.w, p.text(done, total, frac))
		}
		return
	}
	now := time.Now()
	if now.Sub(p.last) < 100*time.Millisecond && done < total {
		return
	}
	p.last = now
	line := p.text(done, total, frac)
	pad := ""
	if n := len(p.lastText) - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(p.w, "\r%s%s", line, pad)
	p.lastText = line
}

func (p *byteProgress) text(done, total int64, frac float64) string {
	const width = 30
	n := int(min(max(frac, 0), 1) * width)
	return fmt.Sprintf("%-8s [%s%s] %3d%% %s/%s", p.phase, strings.Repeat("#", n), strings.Repeat(".", width-n),
		int(frac*100), humanBytes(done), humanBytes(total))
}

// done ends a redrawn line.
func (p *byteProgress) done() {
	if p.tty && p.lastText != "" {
		fmt.Fprintln(p.w)
	}
}
