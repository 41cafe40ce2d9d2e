package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestEventsTiming posts a recorded lab boot (boottiming's testdata) to a
// real bootsrv API as cn001's and checks `trapctl events cn001 --timing`
// in table and JSON form, and the error for a node without a boot.
func TestEventsTiming(t *testing.T) {
	url, _, _ := server(t)
	b, err := os.ReadFile(filepath.Join("..", "..", "boottiming", "testdata", "trap-boot.json"))
	if err != nil {
		t.Fatal(err)
	}
	var evs []manifest.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	// The host key event is not timing; its recorded key is cut short.
	evs = slices.DeleteFunc(evs, func(ev manifest.Event) bool { return ev.Phase == manifest.PhaseHostKey })
	for i := range evs {
		evs[i].Node, evs[i].MAC = "cn001", ""
		if evs[i].Phase == manifest.PhaseNetUp { // bootsrv checks it is cn001's
			evs[i].Data["address"] = "198.18.0.11/24"
		}
	}
	ctx := context.Background()
	if err := client.New(url, nil).PostEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, args := range [][]string{
		{"events", "cn001", "--timing"},
		{"-o", "json", "events", "cn001", "--timing"},
		{"events", "cn002", "--timing"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(ctx, append([]string{"--server", url}, args...), &stdout, &stderr)
		if err != nil {
			stderr.WriteString("trapctl: " + err.Error() + "\n")
		}
		out.WriteString("$ trapctl " + strings.Join(args, " ") + "\n" + stdout.String() + stderr.String() + "\n")
	}
	golden.Check(t, filepath.Join("testdata", "events-timing.golden"), out.String())
}
