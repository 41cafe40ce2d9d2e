package nodeauth

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func TestSignVerify(t *testing.T) {
	pub, priv, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	otherPub, _, _ := NewKey()
	s := NewSigner(priv, "cn001", "b42")
	body := []byte(`{"node":"cn001","phase":"trap"}`)
	r := httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader(body))
	s.Sign(r, body)
	c, err := Verify(pub, r, body)
	if err != nil {
		t.Fatalf("Verify(signed request) = %v", err)
	}
	if c != (Claims{Node: "cn001", Boot: "b42", Seq: 1}) {
		t.Errorf("claims = %+v", c)
	}
	if _, err := Verify(otherPub, r, body); err == nil {
		t.Errorf("Verify with another key accepted the request")
	}
	tampered := []struct {
		name string
		edit func(r *http.Request) []byte
	}{
		{"body", func(r *http.Request) []byte { return []byte(`{"node":"cn002","phase":"trap"}`) }},
		{"node header", func(r *http.Request) []byte { r.Header.Set(HeaderNode, "cn002"); return body }},
		{"boot header", func(r *http.Request) []byte { r.Header.Set(HeaderBoot, "b43"); return body }},
		{"seq header", func(r *http.Request) []byte { r.Header.Set(HeaderSeq, "7"); return body }},
		{"path", func(r *http.Request) []byte { r.URL.Path = "/api/v1/secrets/cn001/x"; return body }},
		{"method", func(r *http.Request) []byte { r.Method = http.MethodPut; return body }},
		{"no signature", func(r *http.Request) []byte { r.Header.Del(HeaderSignature); return body }},
	}
	for _, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/api/v1/events", bytes.NewReader(body))
			s.Sign(r, body)
			b := tc.edit(r)
			if _, err := Verify(pub, r, b); err == nil {
				t.Errorf("Verify after changing the %s = nil, want an error", tc.name)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	var w Window
	steps := []struct {
		seq  uint64
		want bool
	}{
		{0, false}, {1, true}, {1, false}, {3, true}, {2, true}, {2, false},
		{100, true}, {36, false}, {37, true}, {37, false}, {99, true}, {100, false}, {200, true}, {150, true}, {136, false},
	}
	for i, s := range steps {
		if got := w.Accept(s.seq); got != s.want {
			t.Errorf("step %d: Accept(%d) = %v, want %v", i, s.seq, got, s.want)
		}
	}
}

func FuzzParseHeaders(f *testing.F) {
	f.Add("cn001", "b1", "1", "AAAA")
	f.Add("", "", "", "")
	f.Add("cn001\n", "register", "18446744073709551615", "not base64!")
	f.Fuzz(func(t *testing.T, node, boot, seq, sig string) {
		h := http.Header{}
		h.Set(HeaderNode, node)
		h.Set(HeaderBoot, boot)
		h.Set(HeaderSeq, seq)
		h.Set(HeaderSignature, sig)
		c, s, err := ParseHeaders(h)
		if err != nil {
			return
		}
		if c.Node == "" || c.Boot == "" || c.Seq == 0 || len(s) != 64 {
			t.Errorf("ParseHeaders accepted claims %+v with %d-byte signature", c, len(s))
		}
	})
}

func FuzzWindow(f *testing.F) {
	f.Add([]byte{1, 2, 3, 200, 5})
	f.Fuzz(func(t *testing.T, seqs []byte) {
		var w Window
		seen := map[uint64]bool{}
		for _, b := range seqs {
			s := uint64(b)
			if w.Accept(s) {
				if seen[s] {
					t.Fatalf("Accept(%d) twice", s)
				}
				seen[s] = true
			}
		}
	})
}

func TestAnnounceKey(t *testing.T) {
	pub, priv, _ := NewKey()
	otherPub, _, _ := NewKey()
	q, err := url.ParseQuery(NewSigner(priv, "cn001", "b1").AnnounceQuery())
	if err != nil {
		t.Fatal(err)
	}
	node, boot, key := q.Get(AnnounceNodeParam), q.Get(AnnounceBootParam), q.Get(AnnounceKeyParam)
	if node != "cn001" || boot != "b1" || !VerifyAnnounce(pub, node, boot, key) {
		t.Fatalf("announce query %v does not verify", q)
	}
	for name, ok := range map[string]bool{
		"other key":  VerifyAnnounce(otherPub, node, boot, key),
		"other node": VerifyAnnounce(pub, "cn002", boot, key),
		"other boot": VerifyAnnounce(pub, node, "b2", key),
		"garbage":    VerifyAnnounce(pub, node, boot, "!!"),
	} {
		if ok {
			t.Errorf("VerifyAnnounce with %s = true", name)
		}
	}
}
