package state

import (
	"database/sql"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// dbBoots reads node's durable boot counter, bypassing the cache: the
// larger of SQLite's and the boot log file's (read as Open replays it).
func dbBoots(t *testing.T, s *Store, node string) int64 {
	t.Helper()
	var n int64
	err := s.r.QueryRow(`SELECT boots FROM node_status WHERE node = ?`, node).Scan(&n)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("read boots of %s: %v", node, err)
	}
	bl := &bootLog{path: filepath.Join(filepath.Dir(s.path), BootLogFile), nodes: map[string]*bootNode{}}
	if err := bl.replay(); err != nil {
		t.Fatal(err)
	}
	return max(n, bl.boots()[node])
}

func TestQueuedBootsAreCommitted(t *testing.T) {
	for _, tc := range []struct {
		name  string
		boots int
		sync  func(*Store) error // how the queue gets committed
	}{
		{"by the writer after LazyDelay", 3, nil},
		{"by Flush", 5, (*Store).Flush},
		{"by Close", 4, (*Store).Close},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := open(t, dir)
			for i := 1; i <= tc.boots; i++ {
				if _, _, n, err := s.StartBoot("cn001"); err != nil || n != int64(i) {
					t.Fatalf("StartBoot #%d = %d, %v; want %d, nil", i, n, err, i)
				}
			}
			if tc.sync == nil {
				deadline := time.Now().Add(5 * time.Second)
				for dbBoots(t, s, "cn001") != int64(tc.boots) && time.Now().Before(deadline) {
					time.Sleep(LazyDelay)
				}
			} else if err := tc.sync(s); err != nil {
				t.Fatal(err)
			}
			if tc.name == "by Close" {
				s = open(t, dir)
			}
			if got := dbBoots(t, s, "cn001"); got != int64(tc.boots) {
				t.Errorf("boots in SQLite = %d, want %d", got, tc.boots)
			}
		})
	}
}

// TestOnceConsumptionSurvivesSIGKILL: a child consumes a once override
// with StartBoot and is SIGKILLed right after; the consumption must be in
// the database (the script it served used the once mode), and so must the
// queued boots before it.
func TestOnceConsumptionSurvivesSIGKILL(t *testing.T) {
	if dir := os.Getenv("DT_STATE_ONCE_DIR"); dir != "" {
		s, err := testOpen(dir)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		for range 3 {
			s.StartBoot("cn001") // queued
		}
		if err := s.SetModes([]string{"cn001"}, manifest.ModeService, true); err != nil {
			fmt.Println("set:", err)
			os.Exit(3)
		}
		o, ok, n, err := s.StartBoot("cn001")
		if err != nil || !ok || !o.Once || n != 4 {
			fmt.Println("boot:", o, ok, n, err)
			os.Exit(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOnceConsumptionSurvivesSIGKILL$")
	cmd.Env = append(os.Environ(), "DT_STATE_ONCE_DIR="+dir)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output:\n%s", err, out)
	}
	s := open(t, dir)
	if got := modeOf(t, s, "cn001"); got != "service+once" {
		t.Errorf("after SIGKILL, manifest mode = %q, want service+once (consumed by the current boot)", got)
	}
	if got := boot(t, s, "cn001"); got != "" {
		t.Errorf("after SIGKILL, next boot mode = %q, want the inventory's (once used up)", got)
	}
	if got := dbBoots(t, s, "cn001"); got != 5 {
		t.Errorf("boots in SQLite = %d, want 5", got)
	}
}

func TestQueueLeaseCoalesces(t *testing.T) {
	s := open(t, t.TempDir())
	ip := netip.MustParseAddr
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.PutLeases([]Lease{
		{MAC: "52:54:00:00:00:01", IP: ip("198.18.0.100"), Network: "lab", Expires: exp},
		{MAC: "52:54:00:00:00:02", IP: ip("198.18.0.101"), Network: "lab", Expires: exp},
	}); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		l   Lease
		del bool
	}{
		{Lease{MAC: "52:54:00:00:00:01", IP: ip("198.18.0.150"), Network: "lab", Expires: exp}, false},
		{Lease{MAC: "52-54-00-00-00-01", IP: ip("198.18.0.151"), Network: "lab", Expires: exp}, false}, // wins
		{Lease{MAC: "52:54:00:00:00:02"}, true},
		{Lease{MAC: "52:54:00:00:00:03", IP: ip("198.18.0.101"), Network: "lab", Expires: exp}, false}, // 02's old address
		{Lease{MAC: "52:54:00:00:00:04", IP: ip("198.18.0.102"), Network: "lab", Expires: exp}, false},
		{Lease{MAC: "52:54:00:00:00:04"}, true}, // wins
	} {
		if err := s.QueueLease(op.l, op.del); err != nil {
			t.Fatalf("QueueLease(%+v, %v): %v", op.l, op.del, err)
		}
	}
	if err := s.QueueLease(Lease{MAC: "nonsense", IP: ip("198.18.0.9")}, false); err == nil {
		t.Errorf("QueueLease(bad MAC) = nil, want an error")
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	got, err := s.Leases()
	if err != nil {
		t.Fatal(err)
	}
	want := []Lease{
		{MAC: "52:54:00:00:00:01", IP: ip("198.18.0.151"), Network: "lab", Expires: exp},
		{MAC: "52:54:00:00:00:03", IP: ip("198.18.0.101"), Network: "lab", Expires: exp},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Leases() = %+v, want %+v", got, want)
	}
}

func TestQueueEvents(t *testing.T) {
	s := open(t, t.TempDir())
	if err := s.QueueEvents([]manifest.Event{{Node: "cn001"}}); err == nil {
		t.Errorf("QueueEvents(no phase) = nil, want an error")
	}
	if err := s.QueueEvents([]manifest.Event{{Node: "cn001", Phase: "ipxe", Data: map[string]string{"mode": "trap"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents([]manifest.Event{{Node: "cn001", Phase: manifest.PhaseNetUp}}); err != nil {
		t.Fatal(err)
	}
	evs, err := s.Events("cn001", 0)
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, ev := range evs {
		phases = append(phases, ev.Phase)
	}
	if want := []string{"ipxe", manifest.PhaseNetUp}; !reflect.DeepEqual(phases, want) {
		t.Errorf("Events phases = %v, want %v (queued before the synchronous write)", phases, want)
	}
	if evs[0].Time.IsZero() || evs[0].Data["mode"] != "trap" {
		t.Errorf("queued event = %+v, want its time and data", evs[0])
	}
}

// TestGroupCommitIsolation: in one group, a failing write is undone alone.
func TestGroupCommitIsolation(t *testing.T) {
	s := open(t, t.TempDir())
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%4 == 0 {
				errs[i] = s.tx(t.Context(), "bad write", func(tx *sql.Tx) error {
					if _, err := tx.Exec(`INSERT INTO events(node, time, phase) VALUES('bad', 1, 'x')`); err != nil {
						return err
					}
					_, err := tx.Exec(`INSERT INTO no_such_table VALUES(1)`)
					return err
				})
				return
			}
			errs[i] = s.AddEvents([]manifest.Event{{Node: fmt.Sprintf("n%d", i), Phase: manifest.PhaseNetUp}})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i%4 == 0) != (err != nil) {
			t.Errorf("write %d: err = %v", i, err)
		}
		if i%4 == 0 && err != nil && !strings.Contains(err.Error(), "bad write") {
			t.Errorf("write %d: err = %v, want it to name the write", i, err)
		}
	}
	var bad, good int
	s.r.QueryRow(`SELECT COUNT(*) FROM events WHERE node = 'bad'`).Scan(&bad)
	s.r.QueryRow(`SELECT COUNT(*) FROM events WHERE node != 'bad'`).Scan(&good)
	if bad != 0 || good != 30 {
		t.Errorf("events: %d from failed writes, %d good; want 0, 30", bad, good)
	}
}

// TestCacheMatchesDatabase: after concurrent boots and mode switches, the
// in-memory view equals what a fresh Open loads from SQLite.
func TestCacheMatchesDatabase(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	nodes := []string{"cn001", "cn002", "cn003", "cn004"}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				n := nodes[(g+i)%len(nodes)]
				var err error
				switch (g * i) % 5 {
				case 0:
					err = s.SetModes(nodes[:1+i%len(nodes)], manifest.ModeService, true)
				case 1:
					err = s.SetModes([]string{n, n}, manifest.ModeLocal, false)
				case 2:
					err = s.ClearModes([]string{n})
				default:
					_, _, _, err = s.StartBoot(n)
				}
				if err != nil {
					t.Error(err)
					return
				}
				s.ModeFor(n)
			}
		}()
	}
	wg.Wait()
	before, _ := s.Modes()
	st, err := s.Status(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	after, _ := s.Modes()
	if !reflect.DeepEqual(before, after) {
		t.Errorf("Modes() before close = %+v\nafter reopen = %+v", before, after)
	}
	st2, err := s.Status(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if st[n].Boots != st2[n].Boots {
			t.Errorf("boots of %s: %d before close, %d after reopen", n, st[n].Boots, st2[n].Boots)
		}
	}
}

// BenchmarkQueuedBoot is the state work of one /ipxe request of a node
// without a once override: a queued boot counter and "ipxe" event,
// committed in groups of 256.
func BenchmarkQueuedBoot(b *testing.B) {
	s := open(b, b.TempDir())
	b.ResetTimer()
	for i := range b.N {
		node := fmt.Sprintf("n%05d", i%10000)
		if _, _, _, err := s.StartBoot(node); err != nil {
			b.Fatal(err)
		}
		ev := manifest.Event{Node: node, MAC: "52:54:00:00:00:01", Phase: "ipxe",
			Data: map[string]string{"mode": "trap", "platform": "pcbios"}}
		if err := s.QueueEvents([]manifest.Event{ev}); err != nil {
			b.Fatal(err)
		}
		if i%flushEvery == flushEvery-1 {
			if err := s.Flush(); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
}

const flushEvery = 256
