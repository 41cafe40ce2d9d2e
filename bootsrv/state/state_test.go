package state

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

func open(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := testOpen(dir)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestOpenPragmas(t *testing.T) {
	sqliteOnly(t)
	s := open(t, t.TempDir())
	for _, tc := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"synchronous", "2"}, // FULL
		{"user_version", fmt.Sprint(SchemaVersion)},
	} {
		var got string
		if err := s.w.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("PRAGMA %s = %q, want %q", tc.pragma, got, tc.want)
		}
	}
	var sync string
	if err := s.r.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != "2" {
		t.Errorf("reader PRAGMA synchronous = %q, %v, want 2", sync, err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	bump := fmt.Sprintf("PRAGMA user_version = %d", SchemaVersion+1)
	if onPG() {
		bump = fmt.Sprintf("UPDATE dt_schema SET version = %d", SchemaVersion+1)
	}
	if _, err := s.w.Exec(bump); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s2, err := testOpen(dir); err == nil {
		s2.Close()
		t.Fatalf("Open of a newer schema succeeded, want error")
	}
}

func TestSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	if err := s.SetModes([]string{"cn001", "cn002"}, manifest.ModeLocal, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetModes([]string{"cn002"}, manifest.ModeService, true); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents([]manifest.Event{{Node: "cn001", Phase: manifest.PhaseNetUp, Data: map[string]string{"address": "198.18.0.11/24"}}}); err != nil {
		t.Fatal(err)
	}
	exp := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.PutLease(Lease{MAC: "52-54-00-AA-00-01", IP: netip.MustParseAddr("198.18.0.200"), Network: "lab", Expires: exp}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutDiscovered("52:54:00:aa:00:01", []byte(`{"cpus":2}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	modes, err := s.Modes()
	if err != nil {
		t.Fatal(err)
	}
	if got := modes["cn001"]; got.Mode != manifest.ModeLocal || got.Once {
		t.Errorf("after reopen Modes()[cn001] = %+v, want local persistent", got)
	}
	if got := modes["cn002"]; got.Mode != manifest.ModeService || !got.Once {
		t.Errorf("after reopen Modes()[cn002] = %+v, want service once", got)
	}
	st, err := s.Status([]string{"cn001"})
	if err != nil {
		t.Fatal(err)
	}
	if st["cn001"].Phase != manifest.PhaseNetUp || st["cn001"].Address != "198.18.0.11/24" {
		t.Errorf("after reopen Status[cn001] = %+v", st["cn001"])
	}
	ls, err := s.Leases()
	if err != nil {
		t.Fatal(err)
	}
	want := []Lease{{MAC: "52:54:00:aa:00:01", IP: netip.MustParseAddr("198.18.0.200"), Network: "lab", Expires: exp}}
	if !reflect.DeepEqual(ls, want) {
		t.Errorf("after reopen Leases() = %+v, want %+v", ls, want)
	}
	d, ok, err := s.DiscoveredNode("52:54:00:AA:00:01")
	if err != nil || !ok || string(d.Inventory) != `{"cpus":2}` {
		t.Errorf("after reopen DiscoveredNode = %+v, %v, %v", d, ok, err)
	}
}

// TestSurvivesSIGKILL: a child process acknowledges a write and is killed
// with SIGKILL immediately; the write must be there.
func TestSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv("DT_STATE_CHILD_DIR"); dir != "" {
		s, err := testOpen(dir)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		nodes := make([]string, 500)
		for i := range nodes {
			nodes[i] = fmt.Sprintf("n%d", i)
		}
		if err := s.SetModes(nodes, manifest.ModeISCSI, false); err != nil {
			fmt.Println("set:", err)
			os.Exit(3)
		}
		if err := s.AddEvents([]manifest.Event{{Node: "n7", Phase: manifest.PhaseTrapped}}); err != nil {
			fmt.Println("events:", err)
			os.Exit(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "DT_STATE_CHILD_DIR="+dir)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output:\n%s", err, out)
	}
	s := open(t, dir)
	modes, err := s.Modes()
	if err != nil {
		t.Fatal(err)
	}
	if len(modes) != 500 || modes["n499"].Mode != manifest.ModeISCSI {
		t.Errorf("after SIGKILL: %d overrides, n499 = %+v; want 500, iscsi", len(modes), modes["n499"])
	}
	st, err := s.Status([]string{"n7"})
	if err != nil || st["n7"].Phase != manifest.PhaseTrapped {
		t.Errorf("after SIGKILL Status[n7] = %+v, %v", st["n7"], err)
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil && !onPG() {
		t.Error(err)
	}
}
