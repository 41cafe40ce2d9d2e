package state

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/pgtest"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// replicas opens two stores on one shared database (PostgreSQL pass only:
// a SQLite state dir belongs to one bootsrv).
func replicas(t *testing.T) (a, b *Store) {
	t.Helper()
	if !onPG() {
		t.Skip("replicas share a PostgreSQL database")
	}
	dir := t.TempDir()
	dsn, err := testDSN(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, err = OpenDB(dsn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	b, err = OpenDB(dsn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return a, b
}

func TestReplicasShareModes(t *testing.T) {
	a, b := replicas(t)
	if err := a.SetModes([]string{"cn1", "cn2"}, manifest.ModeService, false); err != nil {
		t.Fatal(err)
	}
	if o, ok, err := b.ModeFor("cn1"); err != nil || !ok || o.Mode != manifest.ModeService {
		t.Errorf("B.ModeFor(cn1) after A set service = %+v, %v, %v", o, ok, err)
	}
	if err := b.ClearModes([]string{"cn1"}); err != nil {
		t.Fatal(err)
	}
	if o, ok, _ := a.ModeFor("cn1"); ok {
		t.Errorf("A.ModeFor(cn1) after B cleared = %+v, want none", o)
	}
	if o, ok, _ := a.PersistentMode("cn2"); !ok || o.Mode != manifest.ModeService {
		t.Errorf("A.PersistentMode(cn2) = %+v, %v", o, ok)
	}
	if m, _ := b.Modes(); len(m) != 1 || m["cn2"].Mode != manifest.ModeService {
		t.Errorf("B.Modes() = %+v, want cn2 service only", m)
	}
}

// TestReplicasOnceConsumedOnce: a node's boot hits both replicas at once
// (DHCP/iPXE through different relays); the once override goes to exactly
// one boot, and boot numbers never repeat.
func TestReplicasOnceConsumedOnce(t *testing.T) {
	a, b := replicas(t)
	seen := map[int64]bool{}
	for round := range 15 {
		if err := a.SetModes([]string{"cn1"}, manifest.ModeService, true); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		got := make([]Override, 4)
		boots := make([]int64, 4)
		errs := make([]error, 4)
		for i, s := range []*Store{a, b, a, b} {
			wg.Go(func() { got[i], _, boots[i], errs[i] = s.StartBoot("cn1") })
		}
		wg.Wait()
		once := 0
		for i := range got {
			if errs[i] != nil {
				t.Fatalf("round %d: StartBoot %d: %v", round, i, errs[i])
			}
			if got[i].Once {
				once++
			}
			if seen[boots[i]] {
				t.Errorf("round %d: boot number %d given twice", round, boots[i])
			}
			seen[boots[i]] = true
		}
		if once != 1 {
			t.Fatalf("round %d: %d of 4 concurrent boots got the once override, want exactly 1", round, once)
		}
	}
}

func TestReplicasBootKey(t *testing.T) {
	a, b := replicas(t)
	if _, _, _, err := a.StartBoot("cn1"); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	id := func(n int64) string { return fmt.Sprintf("boot-%d", n) }
	bk, err := b.RegisterBoot("cn1", key, "198.18.0.5:1", id)
	if err != nil {
		t.Fatalf("B.RegisterBoot after A served the script: %v", err)
	}
	if got, ok := a.BootKeyOf("cn1"); !ok || got.Boot != bk.Boot {
		t.Errorf("A.BootKeyOf(cn1) = %+v, %v; want boot %s", got, ok, bk.Boot)
	}
	if _, err := a.RegisterBoot("cn1", []byte("another key of 32 bytes........."), "198.18.0.6:1", id); err == nil {
		t.Errorf("A.RegisterBoot of a second key in the same boot succeeded, want ErrNoOpenBoot")
	}
	if err := a.SetOSToken("cn1", bk.Boot, "abcd"); err != nil {
		t.Errorf("A.SetOSToken: %v", err)
	}
	if got, _ := b.BootKeyOf("cn1"); got.OSToken != "abcd" {
		t.Errorf("B.BootKeyOf(cn1).OSToken = %q, want abcd", got.OSToken)
	}
}

// TestDatabaseOutage: with its database stopped a replica serves the last
// known modes read-only, says so (Degraded), and recovers when the
// database is back.
func TestDatabaseOutage(t *testing.T) {
	if !onPG() {
		t.Skip("the outage of a shared database")
	}
	srv, err := pgtest.Start(os.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	dsn, err := srv.CreateDB("outage")
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenDB(dsn, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.SetModes([]string{"cn1"}, manifest.ModeLocal, false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetModes([]string{"cn1"}, manifest.ModeService, true); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	o, ok, _, err := s.StartBoot("cn1")
	if err != nil || !ok || o.Mode != manifest.ModeLocal {
		t.Errorf("StartBoot with the database down = %+v, %v, %v; want the persistent local (a once override needs the database)", o, ok, err)
	}
	if o, ok, _ := s.ModeFor("cn2"); ok {
		t.Errorf("ModeFor(cn2) with the database down = %+v", o)
	}
	if !s.Degraded() {
		t.Error("Degraded() = false with the database down")
	}
	if err := s.SetModes([]string{"cn1"}, manifest.ModeISCSI, false); err == nil {
		t.Error("SetModes with the database down succeeded, want an error (read-only)")
	}
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	o, ok, _, err = s.StartBoot("cn1")
	if err != nil || !o.Once || o.Mode != manifest.ModeService {
		t.Errorf("StartBoot after the database came back = %+v, %v, %v; want the once service", o, ok, err)
	}
	if s.Degraded() {
		t.Error("Degraded() still true after the database came back")
	}
}
