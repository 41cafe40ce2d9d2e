package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// TestStateliteDataSource: a litetree source data:/lite/{node} becomes
// the node's data_export plus the path, after the external source of
// higher priority; a folder missing from bootsrv's data folder is a
// manifest problem naming the rule's line.
func TestStateliteDataSource(t *testing.T) {
	e := newEnv(t)
	data, _ := os.ReadFile(e.invPath)
	rules := "litefile:\n  - path: /etc/motd\nlitetree:\n  - source: \"data:/lite/{node}\"\n    priority: 2\n  - source: \"198.18.0.7:/site\"\n    priority: 1\n"
	os.WriteFile(e.invPath, append(data, rules...), 0o644)
	c, err := inventory.Load(e.invPath)
	if err != nil {
		t.Fatal(err)
	}
	e.cluster.Store(c)
	e.mustDo("PATCH", "/api/v1/nodes/cn002", map[string]any{"fields": map[string]any{
		"mode": "statelite", "nfsroot": "198.18.0.9:/roots/os", "data_export": "198.18.0.1:/data"}}, 200, nil)
	get := func() *manifest.Manifest {
		t.Helper()
		m, err := manifest.Decode([]byte(e.mustDo("GET", "/manifest/cn002", nil, 200, nil)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := get()
	if m.Statelite != nil || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], `litetree source "data:/lite/{node}" (`) ||
		!strings.Contains(m.Problems[0], ": /lite/cn002 is not a folder of bootsrv's data folder") {
		t.Errorf("missing DATA/lite/cn002: statelite %+v problems %q", m.Statelite, m.Problems)
	}
	if err := os.MkdirAll(filepath.Join(e.api.cfg.DataDir, "lite", "cn002"), 0o755); err != nil {
		t.Fatal(err)
	}
	m = get()
	if m.Statelite == nil || len(m.Problems) > 0 {
		t.Fatalf("statelite %+v problems %q", m.Statelite, m.Problems)
	}
	if got := strings.Join(m.Statelite.Tree, " "); got != "198.18.0.7:/site 198.18.0.1:/data/lite/cn002" {
		t.Errorf("litetree = %s, want the external source then the data export's lite/cn002", got)
	}
}
