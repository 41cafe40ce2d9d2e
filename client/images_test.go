package client

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestImageRequests(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got = r.Method + " " + r.URL.RequestURI() + " len=" + strconv.FormatInt(r.ContentLength, 10) + " " + string(b)
		switch {
		case r.URL.Path == "/images/os":
			io.WriteString(w, "IMAGEBYTES")
		case r.URL.Path == "/images/slow":
			time.Sleep(300 * time.Millisecond)
			io.WriteString(w, "SLOW")
		case r.URL.Path == "/api/v1/images/busy":
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"error":"image busy is used by node cn001"}`)
		case r.URL.Path == "/api/v1/images":
			io.WriteString(w, `[{"name":"os"}]`)
		default:
			io.WriteString(w, `{"name":"os","size":5}`)
		}
	}))
	defer srv.Close()
	// A short overall timeout: transfers must not be bound by it.
	c := New(srv.URL, &http.Client{Timeout: 100 * time.Millisecond})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"list", func() error { _, err := c.Images(ctx); return err }, "GET /api/v1/images len=0 "},
		{"show", func() error { _, err := c.Image(ctx, "os"); return err }, "GET /api/v1/images/os len=0 "},
		{"delete", func() error { _, err := c.DeleteImage(ctx, "os", true); return err }, "DELETE /api/v1/images/os?force=1 len=0 "},
		{"upload", func() error {
			_, err := c.UploadImage(ctx, ImageUpload{Name: "os", Format: "squashfs", SHA256: "ab", Size: 5, Files: 3, Source: "a b", Replace: true},
				strings.NewReader("hsqs!"))
			return err
		}, "PUT /api/v1/images/os?files=3&format=squashfs&replace=1&sha256=ab&source=a+b len=5 hsqs!"},
		{"upload unknown size", func() error {
			_, err := c.UploadImage(ctx, ImageUpload{Name: "os", Format: "tar", SHA256: "ab"}, strings.NewReader("tar"))
			return err
		}, "PUT /api/v1/images/os?format=tar&sha256=ab len=-1 tar"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if got != tc.want {
				t.Errorf("%s sent %q, want %q", tc.name, got, tc.want)
			}
		})
	}
	var buf bytes.Buffer
	if n, err := c.DownloadImage(ctx, "slow", &buf); err != nil || n != 4 || buf.String() != "SLOW" {
		t.Errorf("DownloadImage(slow) past the client timeout = %d %q, %v", n, buf.String(), err)
	}
	_, err := c.DeleteImage(ctx, "busy", false)
	if e, ok := err.(*Error); !ok || e.StatusCode != 409 || !strings.Contains(e.Message, "cn001") {
		t.Errorf("DeleteImage(busy) = %v, want a 409 *Error naming cn001", err)
	}
}
