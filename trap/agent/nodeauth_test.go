package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/plan"

	"github.com/disklesstrap/disklesstrap/internal/labreq"
)

// authInventory puts cn001 at 127.0.0.1, the address the agent's requests
// to a loopback bootsrv come from.
const authInventory = `networks:
  - name: lo
    subnet: 127.0.0.0/8
    server: 127.0.0.2
defaults:
  mode: trap
  kernel: vmlinuz
  initrd: trap.cpio.gz
nodes:
  - name: cn001
    mode: local
    interfaces:
      - {name: net0, network: lo, mac: "52:54:00:12:34:56", ip: 127.0.0.1}
`

// switchStep reports switch-root, as the real step does before it execs.
type switchStep struct{}

func (switchStep) Name() string   { return "switch-root" }
func (switchStep) String() string { return "test switch-root" }
func (switchStep) Run(ctx context.Context, env *plan.Env) error {
	env.Report(manifest.Event{Phase: manifest.PhaseSwitchRoot, Data: map[string]string{"step": "switch-root"}})
	return nil
}

// TestAgentNodeAuth runs the agent against bootsrv's real API with node
// authentication on: after the node's iPXE script was served, the agent
// registers its boot key (privileged source port), every event it sends
// is signed and accepted, and before switch_root it registers the OS
// token and leaves it root-only in its file.
func TestAgentNodeAuth(t *testing.T) {
	labreq.Check(t, labreq.Root()) // binding a privileged source port
	dir := t.TempDir()
	invPath := filepath.Join(dir, "cluster.yaml")
	if err := os.WriteFile(invPath, []byte(authInventory), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := inventory.Load(invPath)
	if err != nil {
		t.Fatal(err)
	}
	ptr := &atomic.Pointer[inventory.Cluster]{}
	ptr.Store(c)
	st, err := state.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(api.New(api.Config{Cluster: ptr, InventoryPath: invPath, Store: st, DataDir: filepath.Join(dir, "data")}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/ipxe?mac=52:54:00:12:34:56&platform=pcbios")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	reg := &plan.Registry{}
	reg.RegisterMode(manifest.ModeLocal, func(m *manifest.Manifest) (plan.Plan, error) { return plan.Plan{switchStep{}}, nil })
	tokFile := filepath.Join(dir, "run", "dt", "os-token")
	cmdline := filepath.Join(dir, "cmdline")
	os.WriteFile(cmdline, []byte("BOOTIF=01-52-54-00-12-34-56 dt.server="+srv.URL+" dt.node=cn001\n"), 0o644)
	out := &syncBuf{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = Run(ctx, Config{Root: dir, CmdlinePath: cmdline, SSHAddr: "off", Socket: filepath.Join(dir, "trap.sock"),
		Registry: reg, FetchAttempts: 3, FetchBackoff: 10 * time.Millisecond, RegisterAttempts: 2,
		ReturnAfterPlan: true, OSTokenFile: tokFile, Out: out, Log: quiet})
	t.Logf("console:\n%s", out.String())
	if err != nil {
		t.Fatalf("Run = %v", err)
	}
	bk, ok := st.BootKeyOf("cn001")
	if !ok || !strings.HasPrefix(bk.Boot, "1-") {
		t.Fatalf("cn001's boot key = %+v, %v; want one registered in boot 1", bk, ok)
	}
	tok, err := os.ReadFile(tokFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(tokFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("OS token file mode %v, want 0600", fi.Mode().Perm())
	}
	if nodeauth.TokenHash(string(tok)) != bk.OSToken {
		t.Errorf("OS token file does not match the registered hash")
	}
	evs, err := st.Events("cn001", 0)
	if err != nil {
		t.Fatal(err)
	}
	var phases []string
	for _, ev := range evs {
		phases = append(phases, ev.Phase)
	}
	got := strings.Join(phases, " ")
	for _, want := range []string{"agent-start", "manifest", "step-start", "switch-root"} {
		if !strings.Contains(got, want) {
			t.Errorf("events stored for cn001: %s; want %s among them (signed events accepted)", got, want)
		}
	}
}
