package initrd

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildPrebuiltNoGo: with a prebuilt directory holding the agent, the
// torrent helper and a Go busybox of the default commands, Build makes the
// image with no Go toolchain on PATH and no source tree: a head node's
// `trapctl initrd build`. (busybox-static stands in for the Go binaries:
// any static x86-64 executable will do.)
func TestBuildPrebuiltNoGo(t *testing.T) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		skipUnless(t, false, "/bin/busybox not installed (busybox-static)")
	}
	dir := t.TempDir()
	pre := filepath.Join(dir, "prebuilt")
	bbData, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	// Each part differs by a trailing marker so the test sees which one landed where.
	for name, marker := range map[string]string{"trap": "AGENT", "trap-torrent": "TORRENT", "bb": "GOBB"} {
		if err := os.MkdirAll(pre, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(pre, name), append(append([]byte{}, bbData...), marker...), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmds := strings.Join(DefaultUrootCommands, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(pre, "bb.commands"), []byte(cmds), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir) // no go
	t.Setenv("GOROOT", "")
	t.Chdir(dir) // no go.mod above
	res, err := Build(context.Background(), Config{
		Prebuilt:     pre,
		HostBinaries: []string{"/bin/busybox"},
		Helpers:      []string{TorrentHelper},
		Output:       filepath.Join(dir, "trap.cpio.gz"),
		TempDir:      dir,
		CacheDir:     filepath.Join(dir, "cache"),
	})
	if err != nil {
		t.Fatalf("Build with prebuilt parts and no Go: %v", err)
	}
	recs, err := ReadArchive(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range recs {
		b, _ := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
		got["/"+r.Name] = string(b)
	}
	for path, marker := range map[string]string{"/init": "AGENT", "/bin/trap-torrent": "TORRENT", "/bbin/bb": "GOBB"} {
		if !strings.HasSuffix(got[path], marker) {
			t.Errorf("%s is not the prebuilt %s part", path, marker)
		}
	}
	for _, c := range []string{"cat", "dmesg", "ip", "ls", "mount"} {
		if got["/bbin/"+c] != "bb" {
			t.Errorf("/bbin/%s -> %q, want bb", c, got["/bbin/"+c])
		}
	}

	// Another u-root command is not prebuilt: Build says it needs Go.
	_, err = Build(context.Background(), Config{
		Prebuilt:      pre,
		UrootCommands: append([]string{"github.com/u-root/u-root/cmds/core/dd"}, DefaultUrootCommands...),
		HostBinaries:  []string{},
		Output:        filepath.Join(dir, "other.cpio.gz"),
		TempDir:       dir,
		CacheDir:      filepath.Join(dir, "cache"),
	})
	if err == nil || !strings.Contains(err.Error(), "Go toolchain") {
		t.Errorf("extra u-root command without Go: %v, want an error saying Go is needed", err)
	}
	if bytes.Contains([]byte(cmds), []byte("cmds/core/dd")) {
		t.Fatal("test premise: dd must not be a default command")
	}
}
