package api

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// limited serves e's API behind l, as bootsrv does, to admins (root on
// the admin socket).
func (e *testEnv) limited(l Limits) *httptest.Server {
	srv := adminServer(l.Handler(e.api))
	e.t.Cleanup(srv.Close)
	return srv
}

// TestSlowBodyCutOff: a client that sends headers and a little of its
// body, then stalls, is cut off after BodyTimeout, and other clients are
// served meanwhile. (Without Limits the connection is held forever.)
func TestSlowBodyCutOff(t *testing.T) {
	e := newEnv(t)
	srv := e.limited(Limits{BodyTimeout: 300 * time.Millisecond})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[{\"node\":")
	// Others are served while the slow one hangs.
	for i := range 5 {
		resp, err := srv.Client().Get(srv.URL + "/boot.ipxe")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET /boot.ipxe #%d beside a slow client: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	took := time.Since(start)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("slow-body client still held after %v", took)
	}
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 {
			t.Errorf("slow-body client got %d %s, want an error", resp.StatusCode, b)
		}
		t.Logf("slow-body client answered %d %s", resp.StatusCode, strings.TrimSpace(string(b)))
	}
	if took > 3*time.Second {
		t.Errorf("slow-body client cut off after %v, want about the 300ms body timeout", took)
	}
	t.Logf("slow-body client cut off after %v (body timeout 300ms)", took.Round(time.Millisecond))
}

// trickle sends n bytes of fakeImage in chunks, one every gap.
type trickle struct {
	data  []byte
	chunk int
	gap   time.Duration
}

func (r *trickle) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(r.gap)
	n := copy(p[:min(len(p), r.chunk)], r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestSlowUploadKeepsMoving: an image upload that takes longer than the
// idle limit but keeps sending is a long transfer by design, not cut off.
func TestSlowUploadKeepsMoving(t *testing.T) {
	e := newEnv(t)
	srv := e.limited(Limits{BodyTimeout: 200 * time.Millisecond, TransferIdle: 400 * time.Millisecond})
	img := fakeImage(64 << 10)
	req, _ := http.NewRequest("PUT", srv.URL+putPath("slow", "squashfs", sha256Hex(img)), &trickle{data: []byte(img), chunk: 8 << 10, gap: 150 * time.Millisecond})
	req.ContentLength = int64(len(img))
	start := time.Now()
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("slow but steady upload = %d %s, want 201", resp.StatusCode, b)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("upload took %v: too fast to prove the idle limit is per progress", took)
	}
}

// TestOversizedUploadRefused: an image larger than MaxImageSize is refused
// (declared: before reading; chunked: when the cap is crossed) and leaves
// nothing in the registry folder.
func TestOversizedUploadRefused(t *testing.T) {
	e := newEnv(t)
	srv := e.limited(Limits{MaxImageSize: 1 << 20})
	img := fakeImage(2 << 20)
	sum := sha256.Sum256([]byte(img))
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprintf("chunked=%v", chunked), func(t *testing.T) {
			var body io.Reader = strings.NewReader(img)
			if chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequest("PUT", srv.URL+putPath("big", "squashfs", hex.EncodeToString(sum[:])), body)
			if chunked {
				req.ContentLength = -1
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("PUT 2 MiB image with a 1 MiB cap = %d %s, want 413", resp.StatusCode, b)
			}
			ents, err := os.ReadDir(e.imagesDir())
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			for _, d := range ents {
				t.Errorf("left in the registry folder: %s", d.Name())
			}
		})
	}
	// Under the cap it is stored.
	small := fakeImage(512 << 10)
	e.srv = srv
	e.mustDo("PUT", putPath("small", "squashfs", sha256Hex(small)), small, 201, nil)
}

// TestBodyCapOrdinaryRoutes: a declared body larger than MaxBody on any
// other route is refused before it is read.
func TestBodyCapOrdinaryRoutes(t *testing.T) {
	e := newEnv(t)
	srv := e.limited(Limits{MaxBody: 1 << 10})
	e.srv = srv
	code, b := e.do("POST", "/api/v1/events", `[{"node":"cn001","phase":"x","message":"`+strings.Repeat("a", 2<<10)+`"}]`)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 KiB event with a 1 KiB cap = %d %s, want 413", code, b)
	}
}

// TestLongDownloadNotCut: a boot file download that lasts longer than every
// timeout but keeps moving runs to its end (long transfers are excepted by
// design: their deadline follows progress).
func TestLongDownloadNotCut(t *testing.T) {
	e := newEnv(t)
	const size = 16 << 20
	if err := os.WriteFile(e.dir+"/data/boot/big.img", make([]byte, size), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := e.limited(Limits{BodyTimeout: 100 * time.Millisecond, WriteTimeout: 100 * time.Millisecond, TransferIdle: time.Second})
	start := time.Now()
	resp, err := srv.Client().Get(srv.URL + "/boot/big.img")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var n int64
	buf := make([]byte, 1<<20)
	for {
		k, err := io.ReadFull(resp.Body, buf)
		n += int64(k)
		if err != nil {
			break
		}
		time.Sleep(100 * time.Millisecond) // ~10 MiB/s
	}
	took := time.Since(start)
	if n != size {
		t.Fatalf("slow download got %d of %d bytes after %v", n, size, took)
	}
	if took < 1200*time.Millisecond {
		t.Fatalf("download took %v: not longer than the idle limit, proves nothing", took)
	}
	t.Logf("16 MiB read slowly over %v, past every timeout", took.Round(time.Millisecond))
}
