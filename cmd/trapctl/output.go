package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/termtext"
)

// Every human output goes through termtext (bootsrv's answers, node
// events and names, errors echoing a server can carry terminal escapes);
// JSON output (writeJSON) stays exact.

// printf writes a formatted message with control characters escaped
// (newlines kept).
func printf(w io.Writer, format string, args ...any) (int, error) {
	return io.WriteString(w, termtext.Text(fmt.Sprintf(format, args...)))
}

// printError prints "trapctl: ERR" (an error may echo bootsrv's words).
func printError(w io.Writer, err error) {
	printLine(w, "trapctl:", err)
}

// printLine is fmt.Fprintln through termtext.
func printLine(w io.Writer, args ...any) (int, error) {
	return io.WriteString(w, termtext.Text(fmt.Sprintln(args...)))
}

// table writes aligned columns; cells are tab separated.
type table struct {
	tw *tabwriter.Writer
}

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(header...)
	}
	return t
}

func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "-"
		}
		// A tab or newline inside a value would break the columns, an
		// escape sequence the terminal.
		cells[i] = termtext.Line(cells[i])
	}
	fmt.Fprintln(t.tw, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.tw.Flush() }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// age formats how long ago t was: "12s ago", "5m ago", "3h ago", "4d ago";
// "never" for the zero time.
func age(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
}

// attrRows prints "key  value  source" rows. Values longer than 40 bytes
// (SSH keys) do not widen the value column: their source follows after two
// spaces.
type attrRows struct{ rows [][3]string }

func (a *attrRows) add(key, value, source string) {
	if value == "" {
		value = "-"
	}
	a.rows = append(a.rows, [3]string{termtext.Line(key), termtext.Line(value), termtext.Line(source)})
}

func (a *attrRows) write(w io.Writer) error {
	keyW, valW := 0, 0
	for _, r := range a.rows {
		keyW = max(keyW, len(r[0]))
		if r[2] != "" && len(r[1]) <= 40 {
			valW = max(valW, len(r[1]))
		}
	}
	var b strings.Builder
	for _, r := range a.rows {
		line := fmt.Sprintf("%-*s  %s", keyW, r[0], r[1])
		if r[2] != "" {
			line += strings.Repeat(" ", max(0, valW-len(r[1]))) + "  " + r[2]
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
