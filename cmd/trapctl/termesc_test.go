package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// hostile is what a node (or anything posing as one) can put in an event.
const hostile = "ok\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZWNobyBvd25lZA==\x07\u009b31m\r\x7f\u202eevil"

// controlBytes lists the bytes of s a terminal could act on: C0 but '\n',
// DEL, and the C1 range however encoded.
func controlBytes(s string) []string {
	var bad []string
	for _, r := range s {
		if r < 0x20 && r != '\n' || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0xfffd {
			bad = append(bad, string(r))
		}
	}
	return bad
}

// TestHumanOutputEscapesControls: an event message, phase data and a
// server error full of escape sequences reach the admin's terminal as
// visible text in every human output (events, status, errors), while
// -o json keeps them exact. Before, tables stripped only \t\n\r.
func TestHumanOutputEscapesControls(t *testing.T) {
	url, _, _, _ := serverWith(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("range") == "evil" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				json.NewEncoder(w).Encode(map[string]string{"error": hostile})
				return
			}
			h.ServeHTTP(w, r)
		})
	})
	ctx := context.Background()
	err := client.New(url, nil).PostEvents(ctx, []manifest.Event{
		{Node: "cn001", Phase: manifest.PhaseStepFailed, Message: hostile, Data: map[string]string{"step": hostile}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"events", "cn001"}, {"status"}, {"status", "cn001"}, {"status", "evil"}, {"node", "show", "cn001"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if err := run(ctx, append([]string{"--server", url}, args...), &stdout, &stderr); err != nil {
				printError(&stderr, err)
			}
			for name, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if bad := controlBytes(s); len(bad) > 0 {
					t.Errorf("trapctl %s %s has control characters %q:\n%s", strings.Join(args, " "), name, bad, s)
				}
			}
			if args[0] == "events" && !strings.Contains(stdout.String(), `ok\x1b[2J\x1b]0;pwned\x07`) {
				t.Errorf("events do not show the message escaped:\n%s", stdout.String())
			}
			if len(args) > 1 && args[1] == "evil" && !strings.Contains(stderr.String(), `\x1b[2J`) {
				t.Errorf("the server's error is not shown escaped:\n%s", stderr.String())
			}
		})
	}
	var stdout bytes.Buffer
	if err := run(ctx, []string{"--server", url, "-o", "json", "events", "cn001"}, &stdout, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	var evs []manifest.Event
	if err := json.Unmarshal(stdout.Bytes(), &evs); err != nil {
		t.Fatalf("json events: %v\n%s", err, stdout.String())
	}
	found := false
	for _, ev := range evs {
		found = found || ev.Message == hostile && ev.Data["step"] == hostile
	}
	if !found {
		t.Errorf("-o json events do not carry the message exactly: %+v", evs)
	}
}

// TestSSHHeadersEscapeControls: the fan-out's group headers (node names,
// the error of a failed ssh) are escaped; the commands' own output is
// passed through as ssh itself would.
func TestSSHHeadersEscapeControls(t *testing.T) {
	var stdout bytes.Buffer
	e := &env{stdout: &stdout}
	printGrouped(e, []sshResult{{Node: "cn001", Exit: 255, Error: hostile}, {Node: "cn002", Output: "plain\n"}})
	header := strings.SplitN(stdout.String(), "plain\n", 2)[0]
	if bad := controlBytes(header); len(bad) > 0 || !strings.Contains(header, `exit 255: ok\x1b[2J`) {
		t.Errorf("fan-out headers have control characters %q or lack the escaped error:\n%s", bad, stdout.String())
	}
}
