package debtest

import (
	"os"
	"path/filepath"
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
