package modload

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
)

// bootDirs hold the drivers the network boot needs before anything else:
// NICs and the virtio bus they sit on.
var bootDirs = []string{"kernel/drivers/net/", "kernel/drivers/virtio/"}

// BootFirst splits modules (config entries, "name [params]") into those the
// boot interface needs now (modules.dep paths under bootDirs) and the rest,
// each in the given order. A module modules.dep does not list goes first, so
// its error shows at once; an unreadable modules.dep puts everything first.
func BootFirst(root, kver string, modules []string) (first, rest []string) {
	paths, err := depPaths(filepath.Join(root, "lib/modules", kver, "modules.dep"))
	if err != nil {
		return modules, nil
	}
	for _, m := range modules {
		name, _, _ := strings.Cut(strings.TrimSpace(m), " ")
		p, ok := paths[normalize(name)]
		if !ok || hasAnyPrefix(p, bootDirs) {
			first = append(first, m)
		} else {
			rest = append(rest, m)
		}
	}
	return first, rest
}

// depPaths maps module names (normalized) to their modules.dep paths.
func depPaths(file string) (map[string]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		p, _, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		base := filepath.Base(p)
		base = base[:len(base)-len(filepath.Ext(base))]
		for filepath.Ext(base) == ".ko" { // name.ko.xz
			base = strings.TrimSuffix(base, ".ko")
		}
		out[normalize(base)] = p
	}
	return out, s.Err()
}

func normalize(name string) string { return strings.ReplaceAll(name, "-", "_") }

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
