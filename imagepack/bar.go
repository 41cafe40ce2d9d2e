package imagepack

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Bar draws packing progress. On a terminal it redraws one line with \r
// (at most every 100 ms); otherwise it prints a line per milestone (every
// 10 % of a phase, and each phase change). Use Bar.Update as
// Options.Progress, then Bar.Done.
type Bar struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	width    int
	every    time.Duration
	last     time.Time
	phase    string
	mile     int64 // last milestone printed (tenths)
	drawn    bool
	lastText string
}

// NewBar returns a Bar writing to w; it redraws in place only when w is
// a terminal.
func NewBar(w io.Writer) *Bar {
	return &Bar{w: w, tty: isTerminal(w), width: 30, every: 100 * time.Millisecond, mile: -1}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// Update implements Options.Progress.
func (b *Bar) Update(p Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	done, total := p.Bytes, p.BytesTotal
	if p.Phase != "compress" && total == 0 {
		done, total = int64(p.Files), int64(p.FilesTotal)
	}
	frac := -1.0 // unknown
	if p.Phase != "compress" && total > 0 {
		frac = float64(done) / float64(total)
	}
	if !b.tty {
		if p.Phase != b.phase {
			b.phase, b.mile = p.Phase, -1
		}
		m := int64(0)
		if frac >= 0 {
			m = int64(frac * 10)
		}
		if m == b.mile {
			return
		}
		b.mile = m
		fmt.Fprintln(b.w, b.text(p, frac))
		return
	}
	now := time.Now()
	if p.Phase == b.phase && now.Sub(b.last) < b.every && frac < 1 {
		return
	}
	b.phase, b.last = p.Phase, now
	line := b.text(p, frac)
	pad := ""
	if n := len(b.lastText) - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	fmt.Fprintf(b.w, "\r%s%s", line, pad)
	b.lastText, b.drawn = line, true
}

func (b *Bar) text(p Progress, frac float64) string {
	if frac < 0 {
		return fmt.Sprintf("%-8s %d files, %s written", p.Phase, p.FilesTotal, human(p.Bytes))
	}
	if frac > 1 {
		frac = 1
	}
	n := int(frac * float64(b.width))
	return fmt.Sprintf("%-8s [%s%s] %3d%% %d/%d files %s/%s", p.Phase,
		strings.Repeat("#", n), strings.Repeat(".", b.width-n), int(frac*100),
		p.Files, p.FilesTotal, human(p.Bytes), human(p.BytesTotal))
}

// Done ends the bar with a summary line of the packed image.
func (b *Bar) Done(i *Info) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.drawn {
		fmt.Fprint(b.w, "\r"+strings.Repeat(" ", len(b.lastText))+"\r")
	}
	if i != nil {
		fmt.Fprintf(b.w, "packed %s: %s, %d files, %s, sha256 %s\n", i.Name, i.Format, i.Files, human(i.Size), i.SHA256)
	}
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
