// Package termtext makes text that came from elsewhere (bootsrv answers,
// node events and names, error messages that echo a server) safe to print
// on an admin's terminal: no byte of it can start an escape sequence,
// move the cursor, retitle the window, rewrite the clipboard (OSC 52) or
// hide text.
//
// Clean is the one function that does it: C0 controls, DEL, C1 controls
// (U+0080-U+009F, which some terminals read as 8-bit CSI/OSC), bytes that
// are not UTF-8, and the Unicode bidi and line/paragraph separators are
// shown escaped (\x1b, \u009b, \u202e), so an ANSI sequence becomes
// visible text ("\x1b[2J") instead of acting. Line and Text are its two
// uses: one table cell or line, or a multi-line message.
package termtext

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Clean returns s with every control character escaped. With newlines,
// '\n' is kept (and "\r\n" becomes "\n"); otherwise '\n', '\r' and '\t'
// become a space, as fits a table cell. Tabs become a space either way.
func Clean(s string, newlines bool) string {
	if safe(s, newlines) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n' && newlines:
			b.WriteByte('\n')
		case r == '\r' && newlines && strings.HasPrefix(s[i+1:], "\n"):
			// dropped: the '\n' follows
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unsafeRune(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// Line is Clean(s, false): one table cell or one line.
func Line(s string) string { return Clean(s, false) }

// Text is Clean(s, true): a message that may span lines.
func Text(s string) string { return Clean(s, true) }

// safe reports whether s needs no change (the common case: no copy).
func safe(s string, newlines bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && !(c == '\n' && newlines) || c >= 0x7f {
			if c >= 0x80 {
				return safeUTF8(s[i:])
			}
			return false
		}
	}
	return true
}

func safeUTF8(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || unsafeRune(r) {
			return false
		}
	}
	return utf8.ValidString(s) && !strings.ContainsAny(s, "\t\r")
}

// unsafeRune: C1 controls, the bidi embedding/override/isolate marks and
// the line and paragraph separators.
func unsafeRune(r rune) bool {
	return r >= 0x80 && r <= 0x9f ||
		r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 ||
		r == 0x200e || r == 0x200f || r == 0x061c ||
		r == 0x2028 || r == 0x2029
}
