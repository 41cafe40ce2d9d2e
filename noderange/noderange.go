// Package noderange expands and compacts node ranges in the xCAT/clush
// style: "cn[001-064],gpu[1-4],login1", "rack[1-2]n[01-16]",
// "cn[001-003,010,020-022]". The inventory, the CLI and the API all use it.
//
// Names are lowercase [a-z0-9._-]. Inside brackets each element is a number
// N or a range N-M; the zero padding of a range follows the width of its
// start number ("[001-100]" gives 001..100, "[1-10]" gives 1..10).
package noderange

import (
	"fmt"
	"strconv"
	"strings"
)

// MaxNames caps how many names one expression may expand to, so that a typo
// such as "cn[1-99999999]" fails instead of eating memory.
const MaxNames = 1_000_000

// maxDigits bounds the digits of one number inside brackets.
const maxDigits = 9

// span is one element inside brackets: lo..hi, printed with width digits.
type span struct {
	lo, hi uint64
	width  int
}

// segment is a literal part of a name or a bracket (a list of spans).
type segment struct {
	lit   string
	spans []span // nil for a literal
}

// pattern is one parsed item.
type pattern struct {
	item string
	segs []segment
}

// Parse expands a comma-separated node range into names, in expansion
// order, duplicates removed (the first occurrence is kept). Errors name the
// offending item.
func Parse(expr string) ([]string, error) {
	items, err := split(expr)
	if err != nil {
		return nil, err
	}
	pats := make([]pattern, 0, len(items))
	total := 0
	for _, it := range items {
		p, err := parseItem(it)
		if err != nil {
			return nil, err
		}
		n := p.count()
		if n > MaxNames || total+n > MaxNames {
			return nil, fmt.Errorf("noderange: item %q: expression expands to more than %d names", it, MaxNames)
		}
		total += n
		pats = append(pats, p)
	}
	out := make([]string, 0, total)
	seen := make(map[string]struct{}, total)
	var buf []byte
	for _, p := range pats {
		buf = p.expand(buf, func(name []byte) {
			if _, dup := seen[string(name)]; dup {
				return
			}
			s := string(name)
			seen[s] = struct{}{}
			out = append(out, s)
		})
	}
	return out, nil
}

// split cuts expr at the commas outside brackets and trims each item.
func split(expr string) ([]string, error) {
	var items []string
	depth, start := 0, 0
	add := func(end int) error {
		it := strings.TrimSpace(expr[start:end])
		if it == "" {
			return fmt.Errorf("noderange: empty item at offset %d in %q", start, expr)
		}
		items = append(items, it)
		return nil
	}
	for i := 0; i < len(expr); i++ {
		switch expr[i] {
		case '[':
			if depth > 0 {
				return nil, fmt.Errorf("noderange: item %q: nested '['", itemAt(expr, start))
			}
			depth++
		case ']':
			if depth == 0 {
				return nil, fmt.Errorf("noderange: item %q: unbalanced ']'", itemAt(expr, start))
			}
			depth--
		case ',':
			if depth == 0 {
				if err := add(i); err != nil {
					return nil, err
				}
				start = i + 1
			}
		}
	}
	if depth > 0 {
		return nil, fmt.Errorf("noderange: item %q: unbalanced '['", strings.TrimSpace(expr[start:]))
	}
	if err := add(len(expr)); err != nil {
		return nil, err
	}
	return items, nil
}

// itemAt returns the item starting at start, up to the next top-level comma.
func itemAt(expr string, start int) string {
	depth := 0
	for i := start; i < len(expr); i++ {
		switch expr[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ',':
			if depth <= 0 {
				return strings.TrimSpace(expr[start:i])
			}
		}
	}
	return strings.TrimSpace(expr[start:])
}

// nameByte reports whether c may appear in a node name.
func nameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// badChar describes an invalid character.
func badChar(item string, c byte) error {
	if c >= 'A' && c <= 'Z' {
		return fmt.Errorf("noderange: item %q: uppercase %q (names are lowercase [a-z0-9._-])", item, c)
	}
	return fmt.Errorf("noderange: item %q: bad character %q (names are [a-z0-9._-])", item, c)
}

// parseItem parses one item (already free of top-level commas, brackets balanced).
func parseItem(item string) (pattern, error) {
	p := pattern{item: item}
	i := 0
	for i < len(item) {
		if item[i] != '[' {
			j := i
			for j < len(item) && item[j] != '[' {
				if !nameByte(item[j]) {
					return p, badChar(item, item[j])
				}
				j++
			}
			p.segs = append(p.segs, segment{lit: item[i:j]})
			i = j
			continue
		}
		end := strings.IndexByte(item[i:], ']')
		if end < 0 {
			return p, fmt.Errorf("noderange: item %q: unbalanced '['", item)
		}
		body := item[i+1 : i+end]
		if body == "" {
			return p, fmt.Errorf("noderange: item %q: empty brackets", item)
		}
		var spans []span
		for _, el := range strings.Split(body, ",") {
			s, err := parseSpan(item, strings.TrimSpace(el))
			if err != nil {
				return p, err
			}
			spans = append(spans, s)
		}
		p.segs = append(p.segs, segment{spans: spans})
		i += end + 1
	}
	return p, nil
}

// padded reports whether a number is written with leading zeros.
func padded(digits string) bool { return len(digits) > 1 && digits[0] == '0' }

// parseSpan parses "N" or "N-M" inside brackets.
func parseSpan(item, el string) (span, error) {
	if el == "" {
		return span{}, fmt.Errorf("noderange: item %q: empty element in brackets", item)
	}
	a, b, isRange := strings.Cut(el, "-")
	if !isRange {
		b = a
	}
	lo, err := parseNum(item, el, a)
	if err != nil {
		return span{}, err
	}
	hi, err := parseNum(item, el, b)
	if err != nil {
		return span{}, err
	}
	if lo > hi {
		return span{}, fmt.Errorf("noderange: item %q: reversed range %s", item, el)
	}
	if len(a) != len(b) && (padded(a) || padded(b)) {
		return span{}, fmt.Errorf("noderange: item %q: range %s mixes padded widths %d and %d (write both ends with the same width)", item, el, len(a), len(b))
	}
	return span{lo: lo, hi: hi, width: len(a)}, nil
}

func parseNum(item, el, s string) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("noderange: item %q: bad range %q (want N or N-M)", item, el)
	}
	if len(s) > maxDigits {
		return 0, fmt.Errorf("noderange: item %q: number %q has more than %d digits", item, s, maxDigits)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("noderange: item %q: bad range %q (want N or N-M, decimal digits)", item, el)
		}
	}
	return strconv.ParseUint(s, 10, 64)
}

// count returns how many names p expands to, or MaxNames+1 when larger.
func (p pattern) count() int {
	n := 1
	for _, s := range p.segs {
		if s.spans == nil {
			continue
		}
		m := 0
		for _, sp := range s.spans {
			m += int(sp.hi - sp.lo + 1)
			if m > MaxNames {
				return MaxNames + 1
			}
		}
		n *= m
		if n > MaxNames {
			return MaxNames + 1
		}
	}
	return n
}

// expand calls fn with every name of p, leftmost bracket varying slowest.
// fn must not keep the slice. It returns buf for reuse.
func (p pattern) expand(buf []byte, fn func([]byte)) []byte {
	var rec func(k int, b []byte) []byte
	rec = func(k int, b []byte) []byte {
		if k == len(p.segs) {
			fn(b)
			return b
		}
		s := p.segs[k]
		if s.spans == nil {
			return rec(k+1, append(b, s.lit...))[:len(b)]
		}
		base := len(b)
		for _, sp := range s.spans {
			for v := sp.lo; v <= sp.hi; v++ {
				b = appendPadded(b[:base], v, sp.width)
				b = rec(k+1, b)
			}
		}
		return b[:base]
	}
	return rec(0, buf[:0])
}

// appendPadded appends v in decimal, zero-padded to width digits.
func appendPadded(b []byte, v uint64, width int) []byte {
	var tmp [20]byte
	d := strconv.AppendUint(tmp[:0], v, 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}
