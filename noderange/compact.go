package noderange

import (
	"slices"
	"strconv"
	"strings"
)

// Compact folds names into a node range, the inverse of Parse: names with a
// common prefix and a numeric suffix of the same width become one bracket
// ("cn[001-004,010],login1"). Numbers without leading zeros fold across
// widths ("cn[8-12]"). Duplicates are dropped; items come in natural order.
// For valid names, Parse(Compact(x)) yields the set of x.
func Compact(names []string) string {
	type class struct {
		prefix string
		width  int // digits of a zero-padded class; 0 for unpadded numbers
	}
	classes := map[class][]uint64{}
	padWidths := map[string][]int{}
	var plain []string
	type num struct {
		prefix, digits string
		v              uint64
	}
	var nums []num
	for _, n := range names {
		prefix, digits := splitSuffix(n)
		if digits == "" || len(digits) > maxDigits {
			plain = append(plain, n)
			continue
		}
		v, _ := strconv.ParseUint(digits, 10, 64)
		nums = append(nums, num{prefix, digits, v})
		if padded(digits) && !slices.Contains(padWidths[prefix], len(digits)) {
			padWidths[prefix] = append(padWidths[prefix], len(digits))
		}
	}
	for _, n := range nums {
		c := class{prefix: n.prefix}
		// An unpadded number as wide as a padded class prints the same in
		// it ("100" in [001-100]); everything else keeps its own class.
		if padded(n.digits) || slices.Contains(padWidths[n.prefix], len(n.digits)) {
			c.width = len(n.digits)
		}
		classes[c] = append(classes[c], n.v)
	}

	type item struct{ first, text string }
	var items []item
	for _, p := range plain {
		items = append(items, item{p, p})
	}
	for c, vs := range classes {
		slices.Sort(vs)
		vs = slices.Compact(vs)
		format := func(v uint64) string { return string(appendPadded(nil, v, c.width)) }
		first := c.prefix + format(vs[0])
		if len(vs) == 1 {
			items = append(items, item{first, first})
			continue
		}
		var b strings.Builder
		b.WriteString(c.prefix)
		b.WriteByte('[')
		for i := 0; i < len(vs); {
			j := i
			for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
				j++
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(format(vs[i]))
			if j > i {
				b.WriteByte('-')
				b.WriteString(format(vs[j]))
			}
			i = j + 1
		}
		b.WriteByte(']')
		items = append(items, item{first, b.String()})
	}
	slices.SortFunc(items, func(a, b item) int {
		if a.first == b.first {
			return strings.Compare(a.text, b.text)
		}
		if Less(a.first, b.first) {
			return -1
		}
		return 1
	})
	texts := make([]string, 0, len(items))
	for _, it := range items {
		if len(texts) > 0 && texts[len(texts)-1] == it.text {
			continue // duplicate plain name
		}
		texts = append(texts, it.text)
	}
	return strings.Join(texts, ",")
}

// splitSuffix splits name into a prefix and its trailing decimal digits.
func splitSuffix(name string) (prefix, digits string) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	return name[:i], name[i:]
}

// Index returns the trailing number of a name (cn007 -> 7), used by
// templates. ok is false when the name does not end in digits or the number
// does not fit an int.
func Index(name string) (int, bool) {
	_, digits := splitSuffix(name)
	if digits == "" {
		return 0, false
	}
	v, err := strconv.Atoi(digits)
	if err != nil {
		return 0, false
	}
	return v, true
}

// Less orders names naturally: runs of digits compare by value, so
// cn2 < cn10 and rack2n1 < rack10n1. Equal values with different padding
// order the shorter first (cn7 < cn07), keeping the order total.
func Less(a, b string) bool { return naturalCompare(a, b) < 0 }

func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			da, db := strings.TrimLeft(a[si:i], "0"), strings.TrimLeft(b[sj:j], "0")
			if len(da) != len(db) {
				return cmpInt(len(da), len(db))
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			if c := cmpInt(i-si, j-sj); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		i++
		j++
	}
	return cmpInt(len(a)-i, len(b)-j)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
