package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/initrd"
)

func TestWriteBareInitramfs(t *testing.T) {
	dir := t.TempDir()
	bb := filepath.Join(dir, "busybox")
	if err := os.WriteFile(bb, []byte("BUSYBOX"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bare.cpio.zst")
	if err := writeBareInitramfs(bb, out); err != nil {
		t.Fatal(err)
	}
	recs, err := initrd.ReadArchive(out)
	if err != nil {
		t.Fatalf("ReadArchive: %v", err)
	}
	got := map[string]string{}
	for _, r := range recs {
		got[r.Name] = ""
		if r.ReaderAt != nil && r.FileSize > 0 {
			b := make([]byte, r.FileSize)
			r.ReadAt(b, 0)
			got[r.Name] = string(b)
		}
	}
	if got["bin/busybox"] != "BUSYBOX" || !strings.Contains(got["init"], bareMarker+" uptime=") {
		t.Errorf("archive = %q, want busybox and an /init printing the marker", got)
	}
	if _, ok := got["dev/console"]; !ok {
		t.Errorf("no dev/console in %q", got)
	}
	if m := bareReady.FindStringSubmatch("x\r\n" + bareMarker + " uptime=3.21\r\n"); m == nil || m[1] != "3.21" {
		t.Errorf("bareReady match = %q, want uptime 3.21", m)
	}
	if err := writeBareInitramfs(filepath.Join(dir, "nope"), out); err == nil || !strings.Contains(err.Error(), "busybox-static") {
		t.Errorf("missing busybox: error = %v, want one naming busybox-static", err)
	}
}

func TestPrintInitrd(t *testing.T) {
	s := time.Second
	tests := []struct {
		name         string
		trap, dracut [2]build
		want         []string
	}{
		{"goals met", [2]build{{8 * s, 10e6}, {4 * s, 10e6}}, [2]build{{60 * s, 45e6}, {55 * s, 45e6}},
			[]string{"7.5x", "13.8x", "4.5x", "faster (cold and warm): MET", "smaller: MET"}},
		{"cold too slow", [2]build{{30 * s, 30e6}, {4 * s, 30e6}}, [2]build{{60 * s, 45e6}, {55 * s, 45e6}},
			[]string{"2.0x", "faster (cold and warm): NOT MET", "smaller: NOT MET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := printInitrd(&b, "6.1.0-test", tt.trap, tt.dracut); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestMedian(t *testing.T) {
	if got := median([]time.Duration{3, 1, 2}); got != 2 {
		t.Errorf("median(3,1,2) = %v, want 2", got)
	}
	if got := median(nil); got != 0 {
		t.Errorf("median() = %v, want 0", got)
	}
}
