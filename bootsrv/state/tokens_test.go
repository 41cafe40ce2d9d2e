package state

import (
	"errors"
	"testing"
	"time"
)

func TestTokens(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	a := Token{ID: "00000000000000aa", Name: "alice", Hash: []byte("h-alice"), Created: t0, CreatedBy: "local:root(uid 0)", Expires: t0.Add(time.Hour)}
	if err := s.AddToken(a); err != nil {
		t.Fatal(err)
	}
	if err := s.AddToken(Token{ID: "00000000000000bb", Name: "alice", Hash: []byte("x"), Created: t0}); !errors.Is(err, ErrTokenExists) {
		t.Errorf("second alice: %v, want ErrTokenExists", err)
	}
	if _, err := s.TokenByID("00000000000000cc"); !errors.Is(err, ErrNoToken) {
		t.Errorf("unknown id: %v", err)
	}
	if _, err := s.RevokeToken("bob", "x", t0); !errors.Is(err, ErrNoToken) {
		t.Errorf("revoke unknown: %v", err)
	}
	r, err := s.RevokeToken("alice", "token:ops", t0.Add(time.Minute))
	if err != nil || !r.Revoked.Equal(t0.Add(time.Minute)) || r.RevokedBy != "token:ops" {
		t.Fatalf("revoke = %+v, %v", r, err)
	}
	// A second revocation keeps the first.
	if r, err := s.RevokeToken("alice", "someone", t0.Add(time.Hour)); err != nil || r.RevokedBy != "token:ops" {
		t.Errorf("second revoke = %+v, %v", r, err)
	}
	s.Close()
	s = open(t, dir) // survives a restart
	got, err := s.TokenByID(a.ID)
	if err != nil || got.Name != "alice" || string(got.Hash) != "h-alice" || !got.Expires.Equal(a.Expires) || got.Revoked.IsZero() {
		t.Errorf("after reopen: %+v, %v", got, err)
	}
	if ts, err := s.Tokens(); err != nil || len(ts) != 1 {
		t.Errorf("Tokens = %v, %v", ts, err)
	}
}

func TestAudit(t *testing.T) {
	s := open(t, t.TempDir())
	for i, p := range []string{"/a", "/b", "/c"} {
		if err := s.AddAudit(AuditRecord{Who: "local:root(uid 0)", From: "unix", Method: "POST", Path: p, Status: 200 + i}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := s.Audit(2)
	if err != nil || len(recs) != 2 || recs[0].Path != "/b" || recs[1].Path != "/c" || recs[1].Status != 202 || recs[0].Time.IsZero() {
		t.Errorf("Audit(2) = %+v, %v; want /b, /c oldest first", recs, err)
	}
	if all, _ := s.Audit(0); len(all) != 3 {
		t.Errorf("Audit(0) = %d records", len(all))
	}
}
