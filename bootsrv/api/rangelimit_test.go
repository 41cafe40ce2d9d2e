package api

import (
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMillionNameRangeRefused: a range far larger than the inventory is
// refused before it is expanded: quickly, in little memory, as a 400 that
// says why. (Expanding x[1-1000000] first took ~150 MB and most of a
// second per request.)
func TestMillionNameRangeRefused(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{
		"/api/v1/status?range=x[1-1000000]",
		"/api/v1/nodes?range=x[1-1000000]",
		"/api/v1/hostkeys?range=x[1-1000000]",
	} {
		t.Run(path, func(t *testing.T) {
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			code, body := e.do("GET", path, nil)
			took := time.Since(start)
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%s: %d in %v, %.1f KiB allocated (client + server)", path, code, took.Round(time.Microsecond), float64(alloc)/1024)
			if code != http.StatusBadRequest || !strings.Contains(body, "1000000 names, more than the") {
				t.Fatalf("GET %s = %d %s, want 400 naming the size", path, code, body)
			}
			if alloc > 4<<20 || took > 200*time.Millisecond {
				t.Errorf("refusal took %v and %d KiB; want < 200ms and < 4 MiB", took, alloc>>10)
			}
		})
	}
	code, body := e.do("POST", "/api/v1/mode", `{"range":"x[1-1000000]","mode":"trap"}`)
	if code != http.StatusBadRequest {
		t.Errorf("mode set on a million names = %d %s, want 400", code, body)
	}
}
