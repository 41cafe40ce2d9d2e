package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParsePerfdhcp(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "perfdhcp.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parsePerfdhcp(string(b))
	if err != nil {
		t.Fatalf("parsePerfdhcp(testdata/perfdhcp.txt): %v", err)
	}
	want := perfResult{Rate: 3943.72, Discovers: 24993, Offers: 23748, Requests: 23748, Acks: 23669}
	if got != want {
		t.Errorf("parsePerfdhcp = %+v, want %+v", got, want)
	}
	if l := got.Loss(); l < 0.0529 || l > 0.0530 {
		t.Errorf("Loss() = %f, want 1-23669/24993 = 0.05297", l)
	}
}

func TestParsePerfdhcpBad(t *testing.T) {
	for _, in := range []string{
		"",
		"Rate: x 4-way exchanges/second",
		"Rate: 10\n***Statistics for: DISCOVER-OFFER***\nsent packets: 10\n",
		"Rate: 10\n***Statistics for: DISCOVER-OFFER***\nsent packets: ten\nreceived packets: 1\n",
	} {
		if _, err := parsePerfdhcp(in); err == nil {
			t.Errorf("parsePerfdhcp(%q) = nil error, want one", in)
		}
	}
}

func FuzzParsePerfdhcp(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "perfdhcp.txt")); err == nil {
		f.Add(string(b))
	}
	f.Add("Rate: 1\n***Statistics for: DISCOVER-OFFER***\nsent packets: 1\nreceived packets: 1\n")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parsePerfdhcp(s)
		if err != nil {
			return
		}
		if r.Discovers > 0 && r.Acks >= 0 && r.Acks <= r.Discovers && (r.Loss() < 0 || r.Loss() > 1) {
			t.Fatalf("parsePerfdhcp(%q): loss %f outside 0..1", s, r.Loss())
		}
	})
}
