package torrent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"ok bytes", Options{MetaInfo: []byte("d"), Dest: "/run/x"}, ""},
		{"ok url", Options{MetaInfoURL: "http://x/t", Dest: "/run/x"}, ""},
		{"no metainfo", Options{Dest: "/run/x"}, "no metainfo"},
		{"no dest", Options{MetaInfo: []byte("d")}, "no destination"},
		{"negative cap", Options{MetaInfo: []byte("d"), Dest: "x", UploadLimit: -1}, "negative"},
		{"short sha", Options{MetaInfo: []byte("d"), Dest: "x", SHA256: "abc"}, "64 hex"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.o.validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("validate(%+v) = %v, want error containing %q", tc.o, err, tc.wantErr)
			}
		})
	}
}

func TestParsePeers(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    []string
		wantErr bool
	}{
		{[]string{"198.18.0.11:6881", "[::ffff:198.18.0.12]:1"}, []string{"198.18.0.11:6881", "198.18.0.12:1"}, false},
		{[]string{"[2001:db8::1]:7000"}, []string{"[2001:db8::1]:7000"}, false},
		{[]string{"node1:6881"}, nil, true}, // no name lookups
		{[]string{"198.18.0.11:0"}, nil, true},
		{[]string{"198.18.0.11"}, nil, true},
	} {
		got, err := parsePeers(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("parsePeers(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		var gs []string
		for _, p := range got {
			gs = append(gs, p.Addr.String())
		}
		if strings.Join(gs, ",") != strings.Join(tc.want, ",") {
			t.Errorf("parsePeers(%q) = %q, want %q", tc.in, gs, tc.want)
		}
	}
}

func FuzzParsePeers(f *testing.F) {
	f.Add("198.18.0.11:6881")
	f.Add("[::1]:1")
	f.Add("x:y")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := parsePeers([]string{s})
		if err == nil && (len(ps) != 1 || ps[0].Addr == nil) {
			t.Errorf("parsePeers(%q) = %v without error", s, ps)
		}
	})
}

func TestDownloadRefuses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/missing":
			http.NotFound(w, r)
		default:
			w.Write([]byte("not bencode"))
		}
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		o       Options
		wantErr string
	}{
		{"404", Options{MetaInfoURL: srv.URL + "/missing", Dest: t.TempDir() + "/x"}, "404"},
		{"garbage", Options{MetaInfoURL: srv.URL + "/t", Dest: t.TempDir() + "/x"}, "metainfo"},
		{"no info", Options{MetaInfo: []byte("d8:announce3:abce"), Dest: t.TempDir() + "/x"}, "no info"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Download(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Download(%s) = %v, want error containing %q", tc.name, err, tc.wantErr)
			}
		})
	}
}
