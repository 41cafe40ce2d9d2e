package ramroot

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/internal/golden"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

const testSum = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func typical() *manifest.Manifest {
	return &manifest.Manifest{
		Version:  1,
		Node:     "cn001",
		Hostname: "cn001",
		Mode:     manifest.ModeRAMRoot,
		Server:   "http://198.18.0.1:8080",
		Network:  &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24", Gateway: "198.18.0.1"},
		Image:    &manifest.Image{Name: "testos.sqfs", SHA256: testSum, Size: 1234567},
		Sysroot: &manifest.Sysroot{
			Files: []manifest.File{
				{Path: "/etc/motd", Content: "stateless\n"},
				{Path: "/usr/local/bin/hi", Content: "#!/bin/sh\necho hi\n", Mode: "0755"},
			},
			Symlinks: []manifest.Symlink{{Path: "/etc/localtime", Target: "/usr/share/zoneinfo/UTC"}},
			Enable:   []string{"sshd.service"},
			Disable:  []string{"getty@tty1.service"},
		},
	}
}

func TestPlanGolden(t *testing.T) {
	m := typical()
	p, err := Plan(m)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	golden.Check(t, filepath.Join("testdata", "plan.golden"), p.String())
	if m.Init != "" || m.Overlays != nil || m.Image.URL != "" {
		t.Errorf("Plan modified its manifest: %+v", m)
	}
}

// serve serves blob and counts GETs.
func serve(t *testing.T, blob []byte) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/images/testos.sqfs" {
			http.NotFound(w, r)
			return
		}
		n.Add(1)
		w.Write(blob)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestDryRunGolden(t *testing.T) {
	blob := []byte("not really a squashfs, but the fetch step does not care\n")
	srv, gets := serve(t, blob)
	for _, format := range []string{"squashfs", "tar.zst"} {
		t.Run(format, func(t *testing.T) {
			m := typical()
			m.Server = srv.URL
			m.Image.SHA256 = sum(blob)
			m.Image.Size = int64(len(blob))
			m.Image.Format = format
			m.Overlays = []string{"/", "/var", "/var/lib"}
			gets.Store(0)
			root := t.TempDir()
			p, err := Plan(m)
			if err != nil {
				t.Fatal(err)
			}
			SetRoot(p, root)
			f := newFake(root)
			f.files["/sys/block/zram0/disksize"] = "0\n"
			f.out["losetup"] = []string{"/dev/loop7\n"}
			f.existing("/sysroot/etc/systemd", "/sysroot/lib/systemd/system/sshd.service", "/sysroot/sbin/init")
			var events []string
			env := &plan.Env{Manifest: m, Run: f, Sys: f, DryRun: true, Report: func(e manifest.Event) {
				events = append(events, strings.TrimSpace(e.Phase+" "+e.Data["step"]))
			}}
			if err := p.Run(context.Background(), env, 0); err != nil {
				t.Fatalf("Run: %v\n%s", err, f.text())
			}
			text := f.text() + "-- events --\n" + strings.Join(events, "\n") + "\n"
			golden.Check(t, filepath.Join("testdata", "dryrun-"+format+".golden"), strings.ReplaceAll(text, srv.URL, "http://bootsrv"))
			if got, err := os.ReadFile(filepath.Join(root, ImagePath)); err != nil || string(got) != string(blob) {
				t.Errorf("image file = %q, %v; want the served blob", got, err)
			}

			// A second run is idempotent: no download, no mkfs, no mount.
			f.reset()
			if err := p.Run(context.Background(), env, 0); err != nil {
				t.Fatalf("second Run: %v", err)
			}
			if gets.Load() != 1 {
				t.Errorf("GETs after two runs = %d, want 1", gets.Load())
			}
			for _, l := range strings.Split(f.text(), "\n") {
				if strings.HasPrefix(l, "mount ") || strings.HasPrefix(l, "run ") || strings.HasPrefix(l, "unpack ") {
					t.Errorf("second run repeated %q", l)
				}
			}
		})
	}
}

func TestFetchMismatch(t *testing.T) {
	blob := []byte("the wrong bytes")
	srv, _ := serve(t, blob)
	root := t.TempDir()
	want := strings.Repeat("ab", 32)
	s := &Fetch{Image: manifest.Image{Name: "testos.sqfs", URL: srv.URL + "/images/testos.sqfs", SHA256: want}, Root: root}
	f := newFake(root)
	err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f})
	wantErr := "image testos.sqfs: sha256 mismatch: got " + sum(blob) + ", want " + want
	if err == nil || err.Error() != wantErr {
		t.Fatalf("Run = %v, want %q", err, wantErr)
	}
	for _, p := range []string{ImagePath, ImagePath + ".part"} {
		if _, err := os.Stat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind after mismatch (stat: %v)", p, err)
		}
	}
}

func TestFetchHTTPError(t *testing.T) {
	srv, _ := serve(t, nil)
	root := t.TempDir()
	s := &Fetch{Image: manifest.Image{Name: "x", URL: srv.URL + "/images/missing", SHA256: testSum}, Root: root}
	f := newFake(root)
	err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("Run = %v, want a 404 error", err)
	}
}

func TestFetchProgress(t *testing.T) {
	blob := make([]byte, 4<<20)
	srv, _ := serve(t, blob)
	for _, tc := range []struct {
		name     string
		every    int64 // ns
		min, max int
	}{
		{"rate-limited", int64(1 << 62), 1, 1}, // only the final event
		{"every write", 1, 2, 1 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			s := &Fetch{Image: manifest.Image{Name: "big", URL: srv.URL + "/images/testos.sqfs", SHA256: sum(blob), Size: int64(len(blob))}, Root: root}
			s.Every = timeDuration(tc.every)
			f := newFake(root)
			var ev []manifest.Event
			env := &plan.Env{Run: f, Sys: f, Report: func(e manifest.Event) { ev = append(ev, e) }}
			if err := s.Run(context.Background(), env); err != nil {
				t.Fatal(err)
			}
			if len(ev) < tc.min || len(ev) > tc.max {
				t.Fatalf("%d progress events, want %d..%d", len(ev), tc.min, tc.max)
			}
			last := ev[len(ev)-1]
			if last.Phase != manifest.PhaseProgress || last.Data["percent"] != "100" || last.Data["done"] != "4194304" || last.Data["total"] != "4194304" {
				t.Errorf("last event = %+v, want progress 100%% 4194304/4194304", last)
			}
		})
	}
}

func TestPrepareErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(m *manifest.Manifest)
		want string
	}{
		{"no image", func(m *manifest.Manifest) { m.Image = nil }, "needs an image"},
		{"bad sha", func(m *manifest.Manifest) { m.Image.SHA256 = "abc" }, "want 64 lowercase hex"},
		{"torrent without url", func(m *manifest.Manifest) { m.Image.Transport = "torrent" }, "transport torrent without a torrent url"},
		{"transport", func(m *manifest.Manifest) { m.Image.Transport = "nfs" }, "transport \"nfs\" not supported"},
		{"format", func(m *manifest.Manifest) { m.Image.Format = "qcow2" }, "format \"qcow2\""},
		{"overlay order", func(m *manifest.Manifest) { m.Overlays = []string{"/var", "/"} }, "the first must be"},
		{"zram size", func(m *manifest.Manifest) { m.Zram = []manifest.Zram{{Size: "lots"}} }, "size \"lots\""},
		{"zram fs", func(m *manifest.Manifest) { m.Zram = []manifest.Zram{{FS: "btrfs"}} }, "btrfs"},
		{"second zram mount", func(m *manifest.Manifest) { m.Zram = []manifest.Zram{{}, {}} }, "zram zram1: mount"},
		{"relative init", func(m *manifest.Manifest) { m.Init = "init" }, "init \"init\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := typical()
			tc.edit(m)
			_, err := Plan(m)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Plan = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCommands(t *testing.T) {
	cmds := Commands()
	for _, name := range StepNames {
		c, ok := cmds[name]
		if !ok {
			t.Fatalf("Commands() lacks %q", name)
		}
		if s, _ := c(typical(), nil); s == nil || s.Name() != name {
			t.Errorf("Commands()[%q] built %v", name, s)
		}
	}
	bad := typical()
	bad.Image = nil
	s, _ := cmds["zram"](bad, nil)
	if err := s.Run(context.Background(), &plan.Env{}); err == nil || !strings.Contains(err.Error(), "needs an image") {
		t.Errorf("zram step from a bad manifest: Run = %v, want the manifest error", err)
	}
}

func TestSwitchRootHook(t *testing.T) {
	f := newFake("")
	f.existing("/sysroot/sbin/init")
	var order []string
	s := &SwitchRoot{Init: "/sbin/init", BeforeSwitch: func() error { order = append(order, "hook"); return nil }}
	env := &plan.Env{Run: f, Sys: f, Report: func(e manifest.Event) { order = append(order, e.Phase) }}
	if err := s.Run(context.Background(), env); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(order, ","); got != "switch-root,hook" {
		t.Errorf("order = %s, want switch-root,hook", got)
	}
	if !strings.Contains(f.text(), "switch_root /sysroot /sbin/init") {
		t.Errorf("no switch_root call recorded:\n%s", f.text())
	}

	f = newFake("")
	f.existing("/sysroot/sbin/init")
	s.BeforeSwitch = func() error { return errors.New("sshd will not stop") }
	if err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f}); err == nil || strings.Contains(f.text(), "switch_root") {
		t.Errorf("hook error: Run = %v, calls:\n%s; want an error and no switch_root", err, f.text())
	}

	f = newFake("")
	if err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing init: Run = %v, want not found", err)
	}
}

func TestZramHotAddAndReset(t *testing.T) {
	f := newFake("")
	f.files["/sys/block/zram0/disksize"] = "1073741824\n" // zram0 set up by an earlier failed run; zram1/2 missing
	f.hotNext = 1
	s := &Zram{Devices: []manifest.Zram{
		{Device: "0", Size: "512M", Algorithm: "lz4", FS: "ext4", Mount: "/scratch0"},
		{Device: "zram2", Size: "1073741824", FS: "xfs", Mount: "/scratch2"},
	}}
	if err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f}); err != nil {
		t.Fatalf("Run: %v\n%s", err, f.text())
	}
	golden.Check(t, filepath.Join("testdata", "zram-hotadd.golden"), f.text())
}

func timeDuration(ns int64) time.Duration { return time.Duration(ns) }

// TestSwitchRootPreflight: init and a script's interpreter must be readable
// before switch_root deletes the initramfs.
func TestSwitchRootPreflight(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{"elf", map[string]string{"/sysroot/sbin/init": "\x7fELF..."}, ""},
		{"script", map[string]string{"/sysroot/sbin/init": "#!/bin/sh -e\necho\n", "/sysroot/bin/sh": "\x7fELF"}, ""},
		{"no interpreter", map[string]string{"/sysroot/sbin/init": "#!/bin/sh\n"}, "interpreter /bin/sh unreadable"},
		{"empty #!", map[string]string{"/sysroot/sbin/init": "#!\n"}, "empty #! line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake("")
			for p, c := range tt.files {
				f.existing(p)
				f.files[p] = c
			}
			s := &SwitchRoot{Init: "/sbin/init"}
			err := s.Run(context.Background(), &plan.Env{Run: f, Sys: f})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
				if !strings.Contains(f.text(), "switch_root /sysroot /sbin/init") {
					t.Errorf("no switch_root after a good preflight:\n%s", f.text())
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.wantErr)
			}
			if strings.Contains(f.text(), "switch_root /sysroot") {
				t.Errorf("switch_root ran although the preflight failed:\n%s", f.text())
			}
		})
	}
}
