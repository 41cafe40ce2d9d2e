package main

import (
	"fmt"
	"io"
	"strings"
)

// table prints aligned columns: a title, a header and rows.
type table struct {
	title  string
	header []string
	rows   [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) write(w io.Writer) {
	width := make([]int, len(t.header))
	for _, r := range append([][]string{t.header}, t.rows...) {
		for i, c := range r {
			if i < len(width) && len(c) > width[i] {
				width[i] = len(c)
			}
		}
	}
	line := func(r []string) {
		var b strings.Builder
		for i, c := range r {
			if i >= len(width) {
				break
			}
			if i > 0 {
				b.WriteString(" | ")
			}
			if i == 0 {
				fmt.Fprintf(&b, "%-*s", width[i], c)
			} else {
				fmt.Fprintf(&b, "%*s", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
	fmt.Fprintf(w, "\n%s\n", t.title)
	line(t.header)
	sep := make([]string, len(width))
	for i, n := range width {
		sep[i] = strings.Repeat("-", n)
	}
	fmt.Fprintln(w, strings.Join(sep, "-|-"))
	for _, r := range t.rows {
		line(r)
	}
}

// ratio formats a/b as "1.23x", "-" when b is 0.
func ratio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}
