package initrd

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

func TestResolveLibraries(t *testing.T) {
	for _, tc := range []struct {
		bin  string
		want []string // base names that must be among the results
	}{
		{"/bin/ls", []string{"libc.so.6", "ld-linux-x86-64.so.2"}},
		{"/usr/bin/ssh", []string{"libc.so.6", "ld-linux-x86-64.so.2", "libcrypto.so.3"}},
	} {
		t.Run(tc.bin, func(t *testing.T) {
			if _, err := os.Stat(tc.bin); err != nil {
				labreq.Skip(t, "%s not on this host: %v", tc.bin, err)
			}
			libs, err := ResolveLibraries(tc.bin, nil)
			if err != nil {
				t.Fatalf("ResolveLibraries(%s) error %v", tc.bin, err)
			}
			base := map[string]string{}
			for _, l := range libs {
				if !filepath.IsAbs(l) {
					t.Errorf("ResolveLibraries(%s) returned relative path %q", tc.bin, l)
				}
				if _, err := os.Stat(l); err != nil {
					t.Errorf("ResolveLibraries(%s) returned %s: %v", tc.bin, l, err)
				}
				base[filepath.Base(l)] = l
			}
			for _, w := range tc.want {
				if base[w] == "" {
					t.Errorf("ResolveLibraries(%s) = %v, want it to contain %s", tc.bin, libs, w)
				}
			}
			// The interpreter is named as PT_INTERP spells it.
			if base["ld-linux-x86-64.so.2"] != "/lib64/ld-linux-x86-64.so.2" {
				t.Errorf("interpreter = %q, want /lib64/ld-linux-x86-64.so.2", base["ld-linux-x86-64.so.2"])
			}
		})
	}
}

func TestResolveLibrariesStatic(t *testing.T) {
	const bb = "/bin/busybox"
	if _, err := os.Stat(bb); err != nil {
		labreq.Skip(t, "%s (busybox-static) not installed", bb)
	}
	libs, err := ResolveLibraries(bb, nil)
	if err != nil || len(libs) != 0 {
		t.Errorf("ResolveLibraries(%s) = %v, %v; want none (static)", bb, libs, err)
	}
}

func TestResolveLibrariesErrors(t *testing.T) {
	dir := t.TempDir()
	notELF := filepath.Join(dir, "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := ResolveLibraries(notELF, nil); err == nil || !strings.Contains(err.Error(), notELF) {
		t.Errorf("ResolveLibraries(script) error = %v, want one naming %s", err, notELF)
	}
	if _, err := os.Stat("/bin/ls"); err != nil {
		labreq.Skip(t, "/bin/ls not on this host")
	}
	// With an empty search path nothing but the interpreter can be found.
	_, err := ResolveLibraries("/bin/ls", []string{dir})
	if !errors.Is(err, ErrLibraryNotFound) || !strings.Contains(err.Error(), "/bin/ls needs ") {
		t.Errorf("ResolveLibraries(/bin/ls, [%s]) error = %v, want ErrLibraryNotFound naming the library", dir, err)
	}
}

func TestSymlinkChain(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "lib", "libx.so.1.2.3")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	mid := filepath.Join(dir, "lib", "libx.so.1")
	top := filepath.Join(dir, "lib64", "libx.so")
	if err := os.Symlink("libx.so.1.2.3", mid); err != nil { // relative
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(top), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(mid, top); err != nil { // absolute
		t.Fatal(err)
	}
	loop := filepath.Join(dir, "loop")
	if err := os.Symlink("loop", loop); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{top, []string{top, mid, real}, false},
		{real, []string{real}, false},
		{loop, nil, true},
		{filepath.Join(dir, "missing"), nil, true},
	} {
		got, err := SymlinkChain(tc.in)
		if (err != nil) != tc.wantErr || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("SymlinkChain(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}
