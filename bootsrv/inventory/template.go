package inventory

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// A template is a MAC or IP string with placeholders, compiled once per
// node entry and rendered per node:
//
//	{name}          the node name
//	{index}         the trailing number of the name (cn007 -> 7)
//	{index+N}       that number plus N ({index-N}: minus N)
//	{index/N}       divided by N ({index%N}: remainder), e.g. for
//	                "198.18.{index/256}.{index%256+1}"; several operators
//	                apply left to right, / and % before any + or -
//	{index:02x}     formatted with a printf verb (d, x, X, o, b; width/zero flags)
//	{index+N:03d}   both
type template struct {
	parts   []tpart
	dynamic bool // has at least one placeholder
}

type tpart struct {
	lit  string
	kind int // partLit, partName, partIndex
	ops  []op
	verb string // printf format for partIndex, e.g. "%02x"
}

// op is one arithmetic step on the index.
type op struct {
	kind byte // '+', '-', '/', '%'
	arg  int
}

const (
	partLit = iota
	partName
	partIndex
)

var (
	placeholderRE = regexp.MustCompile(`^(name|index)((?:[-+/%][0-9]{1,9}){0,4})(?::([0-9]{0,3}[dxXob]))?$`)
	opRE          = regexp.MustCompile(`([-+/%])([0-9]+)`)
)

// compileTemplate parses s; literal-only strings are valid templates.
func compileTemplate(s string) (*template, error) {
	t := &template{}
	for s != "" {
		open := strings.IndexAny(s, "{}")
		if open < 0 {
			t.parts = append(t.parts, tpart{lit: s})
			break
		}
		if s[open] == '}' {
			return nil, fmt.Errorf("unbalanced '}' in template")
		}
		if open > 0 {
			t.parts = append(t.parts, tpart{lit: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unbalanced '{' in template")
		}
		body := s[open+1 : open+end]
		m := placeholderRE.FindStringSubmatch(body)
		if m == nil {
			return nil, fmt.Errorf("bad placeholder {%s} (want {name}, {index}, {index+N}, {index-N}, {index/N}, {index%%N}, optionally :FMT like {index:02x})", body)
		}
		p := tpart{kind: partIndex, verb: "%d"}
		if m[1] == "name" {
			if m[2] != "" || m[3] != "" {
				return nil, fmt.Errorf("bad placeholder {%s}: {name} takes no offset or format", body)
			}
			p = tpart{kind: partName}
		} else {
			additive := false
			for _, om := range opRE.FindAllStringSubmatch(m[2], -1) {
				o := op{kind: om[1][0]}
				o.arg, _ = strconv.Atoi(om[2])
				switch o.kind {
				case '+', '-':
					additive = true
				case '/', '%':
					if o.arg == 0 {
						return nil, fmt.Errorf("bad placeholder {%s}: division by zero", body)
					}
					if additive {
						return nil, fmt.Errorf("bad placeholder {%s}: operators apply left to right; write / and %% before + and -", body)
					}
				}
				p.ops = append(p.ops, o)
			}
			if m[3] != "" {
				p.verb = "%" + m[3]
			}
		}
		t.parts = append(t.parts, p)
		t.dynamic = true
		s = s[open+end+1:]
	}
	return t, nil
}

// usesIndex reports whether the template needs a numbered node name.
func (t *template) usesIndex() bool {
	for _, p := range t.parts {
		if p.kind == partIndex {
			return true
		}
	}
	return false
}

// render expands t for one node; index is ignored unless hasIndex.
func (t *template) render(name string, index int, hasIndex bool) (string, error) {
	if !t.dynamic && len(t.parts) == 1 {
		return t.parts[0].lit, nil
	}
	var b strings.Builder
	for _, p := range t.parts {
		switch p.kind {
		case partLit:
			b.WriteString(p.lit)
		case partName:
			b.WriteString(name)
		case partIndex:
			if !hasIndex {
				return "", fmt.Errorf("{index} needs a node name ending in a number, got %q", name)
			}
			v := index
			for _, o := range p.ops {
				switch o.kind {
				case '+':
					v += o.arg
				case '-':
					v -= o.arg
				case '/':
					v /= o.arg
				case '%':
					v %= o.arg
				}
			}
			if v < 0 {
				return "", fmt.Errorf("index %d gives a negative value for node %s", index, name)
			}
			if p.verb == "%d" {
				b.WriteString(strconv.Itoa(v))
			} else {
				fmt.Fprintf(&b, p.verb, v)
			}
		}
	}
	return b.String(), nil
}
