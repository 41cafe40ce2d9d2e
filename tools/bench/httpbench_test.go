package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestParseWrk(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "wrk.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseWrk(string(b))
	if err != nil {
		t.Fatalf("parseWrk(testdata/wrk.txt): %v", err)
	}
	want := wrkResult{ReqPerSec: 41948.12, Requests: 419481, Non2xx: 3, Errors: 12}
	if got != want {
		t.Errorf("parseWrk = %+v, want %+v", got, want)
	}
}

func TestParseWrkBad(t *testing.T) {
	for _, in := range []string{
		"",
		"Requests/sec: many",
		"Requests/sec: 1\nSocket errors: connect x, read 0",
		"Requests/sec: 1\nNon-2xx or 3xx responses: -",
	} {
		if _, err := parseWrk(in); err == nil {
			t.Errorf("parseWrk(%q) = nil error, want one", in)
		}
	}
}

func FuzzParseWrk(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "wrk.txt")); err == nil {
		f.Add(string(b))
	}
	f.Add("Requests/sec: 1\n")
	f.Add(" requests in 1s")
	f.Fuzz(func(t *testing.T, s string) {
		parseWrk(s) // must not panic on any input
	})
}

func TestWrkFailed(t *testing.T) {
	for _, tc := range []struct {
		r    wrkResult
		fail bool
	}{
		{wrkResult{ReqPerSec: 100, Requests: 1000}, false},
		{wrkResult{ReqPerSec: 100, Requests: 1000, Non2xx: 1}, true},
		{wrkResult{ReqPerSec: 100, Requests: 1000, Errors: 2}, true},
	} {
		if err := tc.r.failed(); (err != nil) != tc.fail {
			t.Errorf("%+v.failed() = %v, want failure %v", tc.r, err, tc.fail)
		}
	}
}

func TestSaturated(t *testing.T) {
	for _, tc := range []struct {
		server, load float64
		want         string
	}{
		{0.99, 0.5, "server"},
		{0.5, 0.95, "load generator"},
		{0.95, 0.97, "both"},
		{0.6, 0.7, "neither"},
	} {
		if got := saturated(tc.server, tc.load); got != tc.want {
			t.Errorf("saturated(%v, %v) = %q, want %q", tc.server, tc.load, got, tc.want)
		}
	}
}

func TestProcCPU(t *testing.T) {
	if _, err := procCPU(os.Getpid()); err != nil {
		t.Fatalf("procCPU(self): %v", err)
	}
}
