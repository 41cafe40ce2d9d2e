package state

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// encodeRecs is a lease log holding recs.
func encodeRecs(recs []leaseRec) []byte {
	b := []byte(leaseLogMagic)
	for _, r := range recs {
		b = appendLeaseRec(b, r.mac, r.deleted, r.ip, r.expires, r.network)
	}
	return b
}

func sampleRecs() []leaseRec {
	mac := func(s string) net.HardwareAddr { hw, _ := net.ParseMAC(s); return hw }
	return []leaseRec{
		{mac: mac("52:54:00:00:00:01"), ip: netip.MustParseAddr("198.18.0.100"), expires: 1893456000000000000, network: "lab"},
		{mac: mac("52:54:00:00:00:02"), ip: netip.MustParseAddr("198.18.0.101"), network: "lab"},
		{mac: mac("52:54:00:00:00:01"), deleted: true},
		{mac: mac("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"), ip: netip.MustParseAddr("2001:db8::1"), expires: -1, network: ""},
	}
}

func parseAll(data []byte) ([]leaseRec, int, error) {
	var got []leaseRec
	good, err := parseLeaseLog(data, func(r leaseRec) { got = append(got, r) })
	return got, good, err
}

func TestParseLeaseLog(t *testing.T) {
	recs := sampleRecs()
	full := encodeRecs(recs)
	// Record boundaries: a cut anywhere keeps exactly the whole records before it.
	bounds := []int{len(leaseLogMagic)}
	for i := range recs {
		bounds = append(bounds, len(encodeRecs(recs[:i+1])))
	}
	for cut := len(leaseLogMagic); cut <= len(full); cut++ {
		whole := 0
		for whole+1 < len(bounds) && bounds[whole+1] <= cut {
			whole++
		}
		got, good, err := parseAll(full[:cut])
		if len(got) != whole || good != bounds[whole] {
			t.Errorf("parseLeaseLog(cut at %d) = %d records, %d good bytes; want %d, %d", cut, len(got), good, whole, bounds[whole])
		}
		if (err != nil) != (cut != bounds[whole]) {
			t.Errorf("parseLeaseLog(cut at %d) err = %v, want an error only for a partial record", cut, err)
		}
		if !reflect.DeepEqual(got, recs[:whole]) && whole > 0 {
			t.Errorf("parseLeaseLog(cut at %d) = %+v, want %+v", cut, got, recs[:whole])
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
		good int
	}{
		{"empty", nil, 0},
		{"no header", []byte("mac,ip\n"), 0},
		{"flipped bit", func() []byte { b := encodeRecs(recs); b[len(b)-6] ^= 1; return b }(), bounds[len(recs)-1]},
		{"garbage after", append(encodeRecs(recs), 0xff, 0xff, 1), bounds[len(recs)]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, good, err := parseAll(tc.data)
			if good != tc.good {
				t.Errorf("parseLeaseLog(%q) good = %d (err %v), want %d", tc.data, good, err, tc.good)
			}
		})
	}
}

func FuzzParseLeaseLog(f *testing.F) {
	recs := sampleRecs()
	f.Add(encodeRecs(recs))
	f.Add(encodeRecs(recs[:1]))
	f.Add([]byte(leaseLogMagic))
	f.Add(append([]byte(leaseLogMagic), 3, 0, 1, 1, 1, 0, 0, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, good, err := parseAll(data)
		if good > len(data) || (err == nil && good != len(data) && len(data) > 0) {
			t.Fatalf("parseLeaseLog = good %d of %d, err %v", good, len(data), err)
		}
		if good == 0 {
			return
		}
		// What parsed re-encodes to exactly the good prefix.
		if re := encodeRecs(got); string(re) != string(data[:good]) {
			t.Fatalf("re-encoded %d records differ from the %d good bytes", len(got), good)
		}
	})
}

func readLog(t *testing.T, dir string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, LeaseLogName))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestLeaseLogTornTail: a crash in the middle of an append leaves a partial
// last record; Open keeps everything before it and the store keeps working.
func TestLeaseLogTornTail(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	s := open(t, dir)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	l1 := Lease{MAC: "52:54:00:00:00:01", IP: netip.MustParseAddr("198.18.0.100"), Network: "lab", Expires: exp}
	l2 := Lease{MAC: "52:54:00:00:00:02", IP: netip.MustParseAddr("198.18.0.101"), Network: "lab", Expires: exp}
	if err := s.PutLease(l1); err != nil {
		t.Fatal(err)
	}
	before := len(readLog(t, dir))
	if err := s.PutLease(l2); err != nil {
		t.Fatal(err)
	}
	full := readLog(t, dir)
	s.Close()
	for cut := before; cut < len(full); cut++ {
		if err := os.WriteFile(filepath.Join(dir, LeaseLogName), full[:cut], 0o640); err != nil {
			t.Fatal(err)
		}
		s2, err := testOpen(dir)
		if err != nil {
			t.Fatalf("Open with the log cut at %d of %d: %v", cut, len(full), err)
		}
		got, _ := s2.Leases()
		if want := []Lease{l1}; !reflect.DeepEqual(got, want) {
			t.Errorf("Leases() with the log cut at %d = %+v, want %+v", cut, got, want)
		}
		if err := s2.PutLease(l2); err != nil {
			t.Errorf("PutLease after a torn log: %v", err)
		}
		s2.Close()
		s3 := open(t, dir)
		if got, _ := s3.Leases(); len(got) != 2 {
			t.Errorf("after a torn log and a new write, reopen has %d leases, want 2", len(got))
		}
		s3.Close()
	}
}

// TestLeaseLogCompaction: many changes of few leases do not grow the log
// without bound, and the compacted log replays to the same leases.
func TestLeaseLogCompaction(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	s := open(t, dir)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range compactMin + 100 {
		mac := fmt.Sprintf("52:54:00:00:00:%02x", i%16)
		l := Lease{MAC: mac, IP: netip.AddrFrom4([4]byte{198, 18, 0, byte(i % 16)}), Network: "lab", Expires: exp.Add(time.Duration(i))}
		if err := s.QueueLease(l, false); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 0 {
			if err := s.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	want, _ := s.Leases()
	// One compaction happened after compactMin records: fewer than 2000 remain.
	if n := len(readLog(t, dir)); n > 2000*40 {
		t.Errorf("lease log is %d bytes after %d changes of 16 leases, want it compacted", n, compactMin+100)
	}
	s.Close()
	s = open(t, dir)
	if got, _ := s.Leases(); !reflect.DeepEqual(got, want) || len(got) != 16 {
		t.Errorf("after reopen Leases() = %d leases, want the 16 before it", len(got))
	}
	// Open compacts: 16 records.
	if n, w := len(readLog(t, dir)), len(encodeRecs(nil))+16*len(appendLeaseRec(nil, make([]byte, 6), false, netip.MustParseAddr("1.2.3.4"), 1, "lab")); n != w {
		t.Errorf("lease log after Open is %d bytes, want %d (one record per lease)", n, w)
	}
}

// TestLeasesMovedFromDatabase: leases an older bootsrv kept in SQLite move
// to the log at Open.
func TestLeasesMovedFromDatabase(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	s := open(t, dir)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.w.Exec(`INSERT INTO leases(mac, ip, network, expires) VALUES('52:54:00:00:00:09', '198.18.0.9', 'lab', ?)`, toDB(exp)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, dir)
	want := []Lease{{MAC: "52:54:00:00:00:09", IP: netip.MustParseAddr("198.18.0.9"), Network: "lab", Expires: exp}}
	if got, _ := s.Leases(); !reflect.DeepEqual(got, want) {
		t.Errorf("Leases() after the move = %+v, want %+v", got, want)
	}
	var n int
	if err := s.w.QueryRowContext(context.Background(), `SELECT count(*) FROM leases`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows left in the leases table = %d (%v), want 0", n, err)
	}
	s.Close()
	s = open(t, dir)
	if got, _ := s.Leases(); !reflect.DeepEqual(got, want) {
		t.Errorf("Leases() after a second reopen = %+v, want %+v", got, want)
	}
}

// TestLeasesSurviveSIGKILL: a synchronous PutLease and a QueueLease older
// than LazyDelay are there after a SIGKILL.
func TestLeasesSurviveSIGKILL(t *testing.T) {
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	sync := Lease{MAC: "52:54:00:00:00:01", IP: netip.MustParseAddr("198.18.0.100"), Network: "lab", Expires: exp}
	queued := Lease{MAC: "52:54:00:00:00:02", IP: netip.MustParseAddr("198.18.0.101"), Network: "lab", Expires: exp}
	if dir := os.Getenv("DT_STATE_LEASE_DIR"); dir != "" {
		s, err := testOpen(dir)
		if err != nil {
			fmt.Println("open:", err)
			os.Exit(3)
		}
		if err := s.QueueLease(queued, false); err != nil {
			fmt.Println("queue:", err)
			os.Exit(3)
		}
		time.Sleep(20 * LazyDelay)
		if err := s.PutLease(sync); err != nil {
			fmt.Println("put:", err)
			os.Exit(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLeasesSurviveSIGKILL$")
	cmd.Env = append(os.Environ(), "DT_STATE_LEASE_DIR="+dir)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child: %v, want killed by SIGKILL; output:\n%s", err, out)
	}
	s := open(t, dir)
	if got, _ := s.Leases(); !reflect.DeepEqual(got, []Lease{sync, queued}) {
		t.Errorf("after SIGKILL Leases() = %+v, want %+v", got, []Lease{sync, queued})
	}
}

// BenchmarkQueueLease: one lease change as bootsrv's DHCP path queues it.
func BenchmarkQueueLease(b *testing.B) {
	s := open(b, b.TempDir())
	exp := time.Now().Add(time.Hour)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		i %= 1 << 16 // a pool's worth of clients, renewing
		l := Lease{MAC: net.HardwareAddr{0, 0x0d, 0, byte(i >> 16), byte(i >> 8), byte(i)}.String(),
			IP: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), Network: "lab", Expires: exp}
		if err := s.QueueLease(l, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
}

// TestLeaseLogConcurrent: queued changes from several goroutines, flushes
// and reads at the same time; after Close the log replays to what memory
// held.
func TestLeaseLogConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 3000 {
				mac := fmt.Sprintf("52:54:00:%02x:%02x:%02x", g, (i%700)>>8, (i%700)&0xff)
				l := Lease{MAC: mac, IP: netip.AddrFrom4([4]byte{10, byte(g), byte(i % 251 >> 8), byte(i % 251)}), Network: "lab", Expires: exp.Add(time.Duration(i))}
				if err := s.QueueLease(l, i%17 == 0); err != nil {
					t.Error(err)
					return
				}
				if i%500 == 0 {
					if err := s.Flush(); err != nil {
						t.Error(err)
					}
					s.LeaseOf(mac)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	want, _ := s.Leases()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir)
	if got, _ := s.Leases(); !reflect.DeepEqual(got, want) {
		t.Errorf("after reopen %d leases, want the %d held before Close", len(got), len(want))
	}
}

// TestLeaseLogLocked: a second store on the same folder is refused while
// the first is open (two bootsrv processes would interleave the log), and
// allowed once it is closed.
func TestLeaseLogLocked(t *testing.T) {
	sqliteOnly(t)
	dir := t.TempDir()
	a, err := testOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := testOpen(dir); err == nil {
		b.Close()
		t.Fatalf("Open(%s) while another store has it = nil error, want the lock error", dir)
	} else if !strings.Contains(err.Error(), "another bootsrv") {
		t.Errorf("Open(%s) second time = %v, want it to name another bootsrv", dir, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := testOpen(dir)
	if err != nil {
		t.Fatalf("Open(%s) after Close = %v", dir, err)
	}
	b.Close()
}
