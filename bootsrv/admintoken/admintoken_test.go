package admintoken

import (
	"strings"
	"testing"
)

func TestNewParse(t *testing.T) {
	text, id, hash, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(text, Prefix+id+"_") || len(text) != len(Prefix)+idLen+1+secretLen {
		t.Fatalf("token text %q (id %s)", text, id)
	}
	gotID, gotHash, err := Parse(text)
	if err != nil {
		t.Fatalf("Parse(New()): %v", err)
	}
	if gotID != id || !Match(gotHash, hash) {
		t.Errorf("Parse = %s, match %v; want %s, true", gotID, Match(gotHash, hash), id)
	}
	text2, _, hash2, _ := New()
	if text2 == text || Match(hash2, hash) {
		t.Error("two tokens are equal")
	}
	// Same id, another secret: no match.
	other := text[:len(Prefix)+idLen+1] + text2[len(Prefix)+idLen+1:]
	if _, h, err := Parse(other); err != nil || Match(h, hash) {
		t.Errorf("forged secret: err %v, match %v", err, Match(h, hash))
	}
}

func TestParseMalformed(t *testing.T) {
	good, _, _, _ := New()
	for name, text := range map[string]string{
		"empty":      "",
		"no prefix":  good[len(Prefix):],
		"short":      good[:len(good)-1],
		"long":       good + "A",
		"bad id":     Prefix + "0123456789abcdeg" + good[len(Prefix)+idLen:],
		"upper id":   Prefix + "0123456789ABCDEF" + good[len(Prefix)+idLen:],
		"no sep":     strings.Replace(good, "_", "-", 2),
		"bad secret": good[:len(good)-1] + "=",
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Parse(text); err != ErrMalformed {
				t.Errorf("Parse(%q) = %v, want ErrMalformed", text, err)
			}
		})
	}
	if Match(make([]byte, 32), nil) {
		t.Error("Match with no stored hash")
	}
}

func FuzzParse(f *testing.F) {
	good, _, _, _ := New()
	f.Add(good)
	f.Add("dtk_")
	f.Add("dtk_0123456789abcdef_")
	f.Fuzz(func(t *testing.T, s string) {
		id, h, err := Parse(s)
		if err != nil {
			return
		}
		if len(id) != idLen || len(h) != 32 || !strings.HasPrefix(s, Prefix+id+"_") {
			t.Fatalf("Parse(%q) accepted: id %q", s, id)
		}
	})
}
