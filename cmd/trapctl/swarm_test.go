package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImageSwarmTable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/images/os/swarm":
			io.WriteString(w, `{"image":"os","infohash":"abcd","size":33554432,"piece_length":262144,"pieces":128,
				"seeder":{"addr":"198.18.0.1:6881","running":true,"peers":2,"uploaded":50331648,"web_seed":1048576,"upload_limit":4194304,"completed":3},
				"nodes":[{"node":"cn001","address":"198.18.0.11:6881","state":"stopped","percent":100,"downloaded":33554432,"uploaded":20971520,"peers":3,"tracker":true},
				         {"node":"cn002","state":"downloading","percent":45,"downloaded":15099494,"uploaded":1024,"peers":2},
				         {"address":"198.18.0.99:6881","state":"announced","tracker":true}]}`)
		case "/images/os.torrent":
			io.WriteString(w, "d4:infod4:name2:osee")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	out, _, err := trapctl(t, srv.URL, "image", "swarm", "os")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"image os: 32.0MiB, 128 pieces of 256.0KiB, infohash abcd",
		"seeder 198.18.0.1:6881 (running, cap 4.0MiB/s): 2 peers, uploaded 48.0MiB (1.5x image), web seed 1.0MiB, 3 completed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("image swarm output lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	rows := map[string][]string{}
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		rows[f[0]] = f
	}
	if r := rows["cn001"]; len(r) < 8 || r[1] != "stopped" || r[2] != "100%" || r[4] != "20.0MiB" || r[7] != "198.18.0.11:6881" {
		t.Errorf("cn001 row = %q", r)
	}
	if r := rows["cn002"]; len(r) < 8 || r[1] != "downloading" || r[2] != "45%" || r[7] != "-" {
		t.Errorf("cn002 row = %q", r)
	}
	if r := rows["198.18.0.99:6881"]; len(r) < 3 || !strings.Contains(strings.Join(r, " "), "not in the inventory") {
		t.Errorf("stranger row = %q", r)
	}
	if _, _, err := trapctl(t, srv.URL, "image", "swarm", "gone"); err == nil {
		t.Errorf("image swarm gone: no error")
	}
}

func TestShortEvent(t *testing.T) {
	for in, want := range map[string]string{
		"progress image fetch: 45% 3 peers down 12.0 MiB up 4.0 MiB": "image 45% 3 peers down 12.0 MiB up 4.0 MiB",
		"step-failed luks: bad key":                                  "step-failed luks: bad key",
	} {
		if got := shortEvent(in); got != want {
			t.Errorf("shortEvent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteTorrent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "d4:infod4:name2:osee")
	}))
	defer srv.Close()
	e := &env{server: srv.URL, stdout: io.Discard, hc: srv.Client()}
	e.ctx = t.Context()
	if err := e.connect(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "os.torrent")
	if err := writeTorrent(e, "os", p); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(p); string(b) != "d4:infod4:name2:osee" {
		t.Errorf("written torrent = %q", b)
	}
}
