package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/internal/pgtest"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestReplicas: two bootsrv on one PostgreSQL database (started here). A
// mode set through A is served by B; inventory edits through A (SIGHUP
// reload and the node API) reach B within about a second; with the
// database stopped B serves its last known inventory and modes, refuses
// changes, says so in /metrics, and recovers when the database is back.
func TestReplicas(t *testing.T) {
	srv, err := pgtest.Start(os.TempDir(), true)
	if err != nil {
		if os.Getenv("DT_LAB_REQUIRED") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	defer srv.Stop()
	dsn, err := srv.CreateDB("replicas")
	if err != nil {
		t.Fatal(err)
	}
	shared := func(c *Config) { c.StateDB = dsn }
	a := startServer(t, shared)
	b := startServer(t, shared)
	ctx := context.Background()

	if _, err := a.admin().SetMode(ctx, api.ModeSet{Range: "cn001", Mode: manifest.ModeService}); err != nil {
		t.Fatal(err)
	}
	if code, body := b.get("/manifest/cn001"); code != 200 || !strings.Contains(body, `"service"`) {
		t.Errorf("B: GET /manifest/cn001 after mode set through A = %d %s, want mode service", code, body)
	}
	if _, body := b.get("/metrics"); !strings.Contains(body, "bootsrv_state_shared 1") || !strings.Contains(body, "bootsrv_state_degraded 0") {
		t.Errorf("B /metrics lacks state_shared 1 / state_degraded 0")
	}

	// Inventory: a SIGHUP reload of A, then a node added through A's API.
	added := inv + "  - name: cn002\n    interfaces:\n      - {name: net0, mac: \"52:54:00:00:00:02\", ip: 198.18.0.12}\n"
	if err := os.WriteFile(a.cfgPath, []byte(added), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.s.Reload(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 3*time.Second, "B serves cn002 after A's reload", func() bool { c, _ := b.get("/manifest/cn002"); return c == 200 })
	if _, err := a.admin().AddNodes(ctx, api.NodeEdit{Name: "cn003", Fields: map[string]any{"groups": []string{}}}); err != nil {
		t.Fatalf("add cn003 through A: %v", err)
	}
	waitFor(t, 3*time.Second, "B knows cn003 after A's node API edit", func() bool {
		n, err := b.admin().Node(ctx, "cn003", false)
		return err == nil && n.Name == "cn003"
	})
	if got, _ := os.ReadFile(b.cfgPath); !strings.Contains(string(got), "cn003") {
		t.Errorf("B's local copy of the inventory lacks cn003:\n%s", got)
	}

	// An image uploaded through A is fetched by B, verified, then listed.
	img := "hsqs" + strings.Repeat("squashfs bytes ", 20000)
	sum := sha256.Sum256([]byte(img))
	up := client.ImageUpload{Name: "os", Format: "squashfs", SHA256: hex.EncodeToString(sum[:]), Size: int64(len(img))}
	if _, err := a.admin().UploadImage(ctx, up, strings.NewReader(img)); err != nil {
		t.Fatalf("upload through A: %v", err)
	}
	waitFor(t, 10*time.Second, "B lists the image uploaded through A", func() bool {
		im, err := b.admin().Image(ctx, "os")
		return err == nil && im.SHA256 == up.SHA256
	})
	if code, body := b.get("/images/os"); code != 200 || body != img {
		t.Errorf("B: GET /images/os = %d, %d bytes; want 200 and the %d bytes uploaded through A", code, len(body), len(img))
	}

	// A listing whose sha256 does not match the origin's bytes is never
	// stored by B (images.Registry.Put verifies while it writes).
	bad := "hsqs" + strings.Repeat("other bytes ", 1000)
	badSum := sha256.Sum256([]byte(bad))
	if _, err := a.admin().UploadImage(ctx, client.ImageUpload{Name: "bad", Format: "squashfs", SHA256: hex.EncodeToString(badSum[:])}, strings.NewReader(bad)); err != nil {
		t.Fatal(err)
	}
	lie := sha256.Sum256([]byte("not these bytes"))
	rec, _ := json.Marshal(map[string]any{"name": "bad", "format": "squashfs", "sha256": hex.EncodeToString(lie[:])})
	if _, err := a.s.store.PublishImage(state.SharedImage{Name: "bad", SHA256: hex.EncodeToString(lie[:]), Origin: a.s.replicaURL(),
		Record: rec, Created: time.Now().Add(time.Hour).UnixNano()}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // two sync rounds of B
	if im, err := b.admin().Image(ctx, "bad"); err == nil {
		t.Errorf("B lists image bad (%s) although its bytes do not match the listed sha256", im.SHA256)
	}

	// The database goes away.
	if err := srv.Pause(); err != nil {
		t.Fatal(err)
	}
	if code, body := b.get("/manifest/cn001"); code != 200 || !strings.Contains(body, `"service"`) {
		t.Errorf("B with the database down: GET /manifest/cn001 = %d %s, want the last known mode service", code, body)
	}
	if code, _ := b.get("/manifest/cn002"); code != 200 {
		t.Errorf("B with the database down: GET /manifest/cn002 = %d, want the last known inventory", code)
	}
	if _, err := b.admin().SetMode(ctx, api.ModeSet{Range: "cn001", Mode: manifest.ModeLocal}); err == nil {
		t.Errorf("B with the database down accepted a mode set, want a refusal")
	}
	waitFor(t, 5*time.Second, "B /metrics state_degraded 1", func() bool {
		_, body := b.get("/metrics")
		return strings.Contains(body, "bootsrv_state_degraded 1")
	})
	if err := srv.Resume(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "B /metrics state_degraded 0 after the database is back", func() bool {
		_, body := b.get("/metrics")
		return strings.Contains(body, "bootsrv_state_degraded 0")
	})
	if _, err := b.admin().SetMode(ctx, api.ModeSet{Range: "cn001", Mode: manifest.ModeLocal}); err != nil {
		t.Errorf("B after the database came back: mode set: %v", err)
	}
	if code, body := a.get("/manifest/cn001"); code != 200 || !strings.Contains(body, `"local"`) {
		t.Errorf("A: GET /manifest/cn001 after B's mode set = %d %s, want local", code, body)
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
