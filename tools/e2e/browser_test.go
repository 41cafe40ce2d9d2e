package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Headless Chromium (Debian's chromium package) driven by chromedp, for
// the web status page tests.

// requireChromium returns the browser, skipping without one unless
// DT_LAB_REQUIRED=1 says the lab must run.
func requireChromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("DT_LAB_REQUIRED") == "1" {
		t.Fatal("chromium not found (run make lab-deps); DT_LAB_REQUIRED=1")
	}
	t.Skip("chromium not found (make lab-deps installs it)")
	return ""
}

// browser starts a headless Chromium that accepts bootsrv's self-signed
// certificate; cancel stops it.
func browser(ctx context.Context, t *testing.T, path string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1400, 1000),
		chromedp.UserDataDir(t.TempDir()))
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelCtx := chromedp.NewContext(actx)
	return bctx, func() { cancelCtx(); cancelAlloc() }
}

// login opens base/ui, which shows the login form, and logs in with tok.
func login(ctx context.Context, base, tok string) error {
	return chromedp.Do(ctx,
		chromedp.Navigate(base+"/ui"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", tok),
		chromedp.Click("#login"),
		chromedp.WaitVisible("#grid"),
	)
}

// cellPhase is the phase the grid shows for node ("" never seen, "-" no cell).
func cellPhase(ctx context.Context, node string) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`(()=>{const c=document.getElementById(%q);return c?c.dataset.p:"-"})()`, node)))
}

// screenshot keeps a full-page screenshot as a test artifact: under
// $DT_ARTIFACTS, else TMPDIR/dt-artifacts, path logged.
func screenshot(ctx context.Context, t *testing.T, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	dir := os.Getenv("DT_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "dt-artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Error(err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Error(err)
		return
	}
	t.Logf("ARTIFACT screenshot %s (%d bytes)", path, len(png))
}

// forward serves 127.0.0.1:PORT on the host and connects each client to
// addr through dial (inside the lab's namespace): the host's browser
// reaches bootsrv there. It stops with ctx.
func forward(ctx context.Context, t *testing.T, dial func(ctx context.Context, network, addr string) (net.Conn, error), addr string) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { <-ctx.Done(); l.Close() }()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				u, err := dial(dctx, "tcp", addr)
				cancel()
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{}, 2)
				go func() { io.Copy(u, c); done <- struct{}{} }()
				go func() { io.Copy(c, u); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	return l.Addr().String()
}

// liveText is the page's update status; "update failed: ..." names a
// broken update.
func liveText(ctx context.Context) (string, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("upd").textContent`))
}
