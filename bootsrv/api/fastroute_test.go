package api

import (
	"net/http/httptest"
	"testing"
)

// TestFastRouteSameAsMux: the boot requests answer the same through the
// fast path as through the mux, with the same pattern recorded; paths the
// mux would clean or reject are left to it.
func TestFastRouteSameAsMux(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		target string
		fast   bool
	}{
		{"/manifest/login1", true},
		{"/manifest/nosuchnode", true},
		{"/manifest/mac-525400999999", true},
		{"/ipxe?mac=52:54:00:00:01:01&platform=pcbios", true},
		{"/ipxe?mac=zz", true},
		{"/ipxe", true},
		{"/manifest/", false},
		{"/manifest/login1/", false},
		{"/manifest/login1/postscripts", false},
		{"/manifest/a%2Fb", false},
		{"/manifest/..", false},
		{"/manifest/login1/../login1", false},
	} {
		t.Run(tc.target, func(t *testing.T) {
			viaMux := func() (*httptest.ResponseRecorder, string) {
				r := httptest.NewRequest("GET", tc.target, nil)
				w := httptest.NewRecorder()
				e.api.mux.ServeHTTP(w, r)
				return w, r.Pattern
			}
			r := httptest.NewRequest("GET", tc.target, nil)
			w := httptest.NewRecorder()
			if got := e.api.fastRoute(w, r); got != tc.fast {
				t.Fatalf("fastRoute(%s) = %v, want %v", tc.target, got, tc.fast)
			}
			if !tc.fast {
				return
			}
			mw, pattern := viaMux()
			if w.Code != mw.Code || w.Body.String() != mw.Body.String() || r.Pattern != pattern {
				t.Errorf("fast: %d %q pattern %q\nmux:  %d %q pattern %q", w.Code, w.Body, r.Pattern, mw.Code, mw.Body, pattern)
			}
		})
	}
	// Other methods go to the mux (405 with Allow).
	r := httptest.NewRequest("POST", "/manifest/login1", nil)
	if e.api.fastRoute(httptest.NewRecorder(), r) {
		t.Error("POST took the fast path")
	}
}
