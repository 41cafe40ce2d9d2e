package noderange

import "fmt"

// Count returns how many names expr expands to, without expanding it:
// the sum over its items, duplicates counted (so it is an upper bound of
// len(Parse(expr))), or MaxNames+1 when larger than MaxNames. Syntax
// errors are Parse's. It costs time and memory in proportion to the
// expression's text, not to its names.
func Count(expr string) (int, error) {
	items, err := split(expr)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, it := range items {
		p, err := parseItem(it)
		if err != nil {
			return 0, err
		}
		total += p.count()
		if total > MaxNames {
			return MaxNames + 1, nil
		}
	}
	return total, nil
}

// ParseMax is Parse for callers that know how many names can make sense
// (an inventory's node count): an expression whose Count exceeds max is
// refused before a single name is built.
func ParseMax(expr string, max int) ([]string, error) {
	n, err := Count(expr)
	if err != nil {
		return nil, err
	}
	if n > max {
		what := fmt.Sprintf("%d", n)
		if n > MaxNames {
			what = fmt.Sprintf("more than %d", MaxNames)
		}
		return nil, fmt.Errorf("noderange: %q expands to %s names, more than the %d allowed here", clip(expr), what, max)
	}
	return Parse(expr)
}

// clip shortens an expression quoted in an error.
func clip(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
