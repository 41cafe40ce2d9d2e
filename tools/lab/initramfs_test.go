package lab

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// moduleOrder returns the modules.dep paths to insmod, dependencies first,
// for the named modules (file names without .ko).
func moduleOrder(depFile string, names ...string) ([]string, error) {
	f, err := os.Open(depFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	deps := map[string][]string{}
	byName := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		mod, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		deps[mod] = strings.Fields(rest)
		base := strings.TrimSuffix(filepath.Base(mod), ".ko")
		byName[strings.ReplaceAll(base, "-", "_")] = mod
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", depFile, err)
	}
	var order []string
	seen := map[string]bool{}
	var visit func(string)
	visit = func(m string) {
		if seen[m] {
			return
		}
		seen[m] = true
		for _, d := range deps[m] {
			visit(d)
		}
		order = append(order, m)
	}
	for _, n := range names {
		m, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("module %s not in %s", n, depFile)
		}
		visit(m)
	}
	return order, nil
}

func TestModuleOrder(t *testing.T) {
	dep := filepath.Join(t.TempDir(), "modules.dep")
	content := "kernel/a.ko: kernel/b.ko kernel/c.ko\nkernel/b.ko: kernel/c.ko\nkernel/c.ko:\nkernel/d-x.ko:\n"
	if err := os.WriteFile(dep, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		names []string
		want  string
	}{
		{[]string{"a"}, "kernel/c.ko kernel/b.ko kernel/a.ko"},
		{[]string{"d_x", "b"}, "kernel/d-x.ko kernel/c.ko kernel/b.ko"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			got, err := moduleOrder(dep, tt.names...)
			if err != nil {
				t.Fatalf("moduleOrder(%v): %v", tt.names, err)
			}
			if s := strings.Join(got, " "); s != tt.want {
				t.Errorf("moduleOrder(%v) = %q, want %q", tt.names, s, tt.want)
			}
		})
	}
	if _, err := moduleOrder(dep, "nope"); err == nil {
		t.Errorf("moduleOrder(nope) = nil error, want error")
	}
}

// buildInitramfs writes a newc cpio with static busybox, the given kernel
// modules and /init, and returns its path.
func buildInitramfs(t testing.TB, k testKernel, modules []string, initScript string) string {
	t.Helper()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		skipOrFail(t, "busybox-static needed: %v", err)
	}
	if ef, err := elf.Open(busybox); err == nil {
		for _, p := range ef.Progs {
			if p.Type == elf.PT_INTERP {
				skipOrFail(t, "%s is not static (install busybox-static)", busybox)
			}
		}
		ef.Close()
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		skipOrFail(t, "cpio needed: %v", err)
	}
	stage := filepath.Join(t.TempDir(), "root")
	for _, d := range []string{"bin", "dev", "proc", "sys", "lib/modules", "tmp"} {
		if err := os.MkdirAll(filepath.Join(stage, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("busybox", filepath.Join(stage, "bin", "sh")); err != nil {
		t.Fatal(err)
	}
	// The kernel opens /dev/console for init before anything is mounted.
	if err := unix.Mknod(filepath.Join(stage, "dev", "console"), unix.S_IFCHR|0o600, int(unix.Mkdev(5, 1))); err != nil {
		t.Fatalf("mknod console: %v", err)
	}
	var insmods []string
	if len(modules) > 0 {
		order, err := moduleOrder(filepath.Join(k.ModDir, "modules.dep"), modules...)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range order {
			b, err := os.ReadFile(filepath.Join(k.ModDir, m))
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(m)
			if err := os.WriteFile(filepath.Join(stage, "lib", "modules", name), b, 0o644); err != nil {
				t.Fatal(err)
			}
			insmods = append(insmods, "insmod /lib/modules/"+name)
		}
	}
	script := strings.ReplaceAll(initScript, "@INSMODS@", strings.Join(insmods, "\n"))
	if err := os.WriteFile(filepath.Join(stage, "init"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "initramfs.cpio")
	cmd := exec.Command("sh", "-c", "find . | LC_ALL=C sort | cpio -o -H newc --quiet > "+out)
	cmd.Dir = stage
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio: %v: %s", err, b)
	}
	return out
}
