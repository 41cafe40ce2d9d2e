package termtext

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, line, text string
	}{
		{"plain", "cn001 booted: ok", "cn001 booted: ok", "cn001 booted: ok"},
		{"unicode kept", "nœud prêt ✓", "nœud prêt ✓", "nœud prêt ✓"},
		{"newline", "a\nb", "a b", "a\nb"},
		{"crlf", "a\r\nb", "a  b", "a\nb"},
		{"carriage return alone", "ok\rFAKE", "ok FAKE", "ok FAKE"},
		{"tab", "a\tb", "a b", "a b"},
		{"CSI colour", "\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`, `\x1b[31mred\x1b[0m`},
		{"clear screen", "\x1b[2J\x1b[H", `\x1b[2J\x1b[H`, `\x1b[2J\x1b[H`},
		{"OSC title with BEL", "\x1b]0;pwned\x07", `\x1b]0;pwned\x07`, `\x1b]0;pwned\x07`},
		{"OSC 52 clipboard", "\x1b]52;c;ZWNobyBoaQ==\x1b\\", `\x1b]52;c;ZWNobyBoaQ==\x1b\`, `\x1b]52;c;ZWNobyBoaQ==\x1b\`},
		{"C1 CSI as UTF-8", "\u009b31m", `\u009b31m`, `\u009b31m`},
		{"C1 CSI as a raw byte", "\x9b31m", `\x9b31m`, `\x9b31m`},
		{"NEL", "a\u0085b", `a\u0085b`, `a\u0085b`},
		{"DEL", "a\x7fb", `a\x7fb`, `a\x7fb`},
		{"NUL and backspace", "a\x00\bb", `a\x00\x08b`, `a\x00\x08b`},
		{"bidi override", "evil\u202etxt.exe", `evil\u202etxt.exe`, `evil\u202etxt.exe`},
		{"line separator", "a\u2028b", `a\u2028b`, `a\u2028b`},
		{"invalid UTF-8", "a\xffb", `a\xffb`, `a\xffb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.in); got != tt.line {
				t.Errorf("Line(%q) = %q, want %q", tt.in, got, tt.line)
			}
			if got := Text(tt.in); got != tt.text {
				t.Errorf("Text(%q) = %q, want %q", tt.in, got, tt.text)
			}
		})
	}
}

// check fails when out has a byte a terminal could act on.
func check(t *testing.T, in, out string, newlines bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Clean(%q, %v) = %q: not UTF-8", in, newlines, out)
	}
	for _, r := range out {
		if r < 0x20 && !(r == '\n' && newlines) || r == 0x7f || unsafeRune(r) {
			t.Fatalf("Clean(%q, %v) = %q contains %U", in, newlines, out, r)
		}
	}
}

// FuzzClean: whatever the input, the output is UTF-8 with no control
// character (but '\n' in Text), and text without any is left alone.
func FuzzClean(f *testing.F) {
	for _, s := range []string{"plain", "\x1b[31mred", "\x9b\xff", "a\r\nb\tc", "\u202e\u0085", "\x1b]52;c;x\x07"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		line, text := Line(s), Text(s)
		check(t, s, line, false)
		check(t, s, text, true)
		if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == utf8.RuneError || unsafeRune(r) }) &&
			utf8.ValidString(s) && (line != s || text != s) {
			t.Fatalf("clean text %q changed: Line %q, Text %q", s, line, text)
		}
	})
}
