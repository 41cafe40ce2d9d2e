package debtest

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// hostMirror returns the Debian mirror URI the host's apt uses for suite
// (deb822 .sources files and one-line sources.list entries), or "".
func hostMirror(etcApt, suite string) string {
	files, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*.sources"))
	for _, f := range files {
		if u := deb822Mirror(f, suite); u != "" {
			return u
		}
	}
	lists, _ := filepath.Glob(filepath.Join(etcApt, "sources.list.d", "*.list"))
	for _, f := range append([]string{filepath.Join(etcApt, "sources.list")}, lists...) {
		if u := oneLineMirror(f, suite); u != "" {
			return u
		}
	}
	return ""
}

// deb822Mirror reads stanzas "Types: deb / URIs: ... / Suites: ...".
func deb822Mirror(file, suite string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return ""
	}
	for _, stanza := range strings.Split(string(b), "\n\n") {
		f := map[string]string{}
		for _, line := range strings.Split(stanza, "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, " ") {
				f[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
			}
		}
		if f["enabled"] == "no" || !hasWord(f["types"], "deb") || !hasWord(f["suites"], suite) {
			continue
		}
		if uris := strings.Fields(f["uris"]); len(uris) > 0 {
			return uris[0]
		}
	}
	return ""
}

// oneLineMirror reads "deb [opts] URI SUITE COMPONENTS..." lines.
func oneLineMirror(file, suite string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) < 3 || w[0] != "deb" {
			continue
		}
		w = w[1:]
		if strings.HasPrefix(w[0], "[") {
			for len(w) > 0 && !strings.HasSuffix(w[0], "]") {
				w = w[1:]
			}
			if len(w) > 0 {
				w = w[1:]
			}
		}
		if len(w) >= 2 && w[1] == suite {
			return w[0]
		}
	}
	return ""
}

func hasWord(s, w string) bool {
	for _, x := range strings.Fields(s) {
		if x == w {
			return true
		}
	}
	return false
}
