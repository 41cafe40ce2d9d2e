package debtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHostMirror(t *testing.T) {
	for _, tt := range []struct {
		name, file, text, want string
	}{
		{"deb822", "sources.list.d/debian.sources", "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n\nTypes: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n", "http://mirror.example/debian"},
		{"deb822 disabled", "sources.list.d/x.sources", "Enabled: no\nTypes: deb\nURIs: http://off.example/debian\nSuites: bookworm\n", ""},
		{"one line", "sources.list", "# deb http://old.example/debian bookworm main\ndeb [signed-by=/k.gpg arch=amd64] http://one.example/debian bookworm main\n", "http://one.example/debian"},
		{"other suite", "sources.list", "deb http://one.example/debian trixie main\n", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, tt.file)
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := hostMirror(dir, "bookworm"); got != tt.want {
				t.Errorf("hostMirror = %q, want %q", got, tt.want)
			}
		})
	}
}

// FuzzHostMirror: any sources file content parses without panicking, and a
// mirror found is one of the file's words.
func FuzzHostMirror(f *testing.F) {
	f.Add("Types: deb\nURIs: http://m.example/debian\nSuites: bookworm\n", false)
	f.Add("deb [arch=amd64 signed-by=/x] http://m.example/debian bookworm main\n", true)
	f.Add("deb [ bookworm\n", true)
	f.Fuzz(func(t *testing.T, text string, oneLine bool) {
		dir := t.TempDir()
		name := filepath.Join(dir, "sources.list.d", "f.sources")
		if oneLine {
			name = filepath.Join(dir, "sources.list")
		}
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := hostMirror(dir, "bookworm"); got != "" && !strings.Contains(text, got) {
			t.Errorf("mirror %q is not in the file", got)
		}
	})
}
