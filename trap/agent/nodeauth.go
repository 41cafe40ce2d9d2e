package agent

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/bootclient"
)

// The boot's node credential (package nodeauth): a key pair made in
// memory once the network is up, registered from a privileged source
// port; every event and secret pull of the boot is signed with it. It
// never leaves the agent's memory. Before switch_root the agent registers
// an OS token for the booted OS and leaves it, root only, in /run.

// registerBoot makes and registers the boot key. Without it bootsrv
// refuses the node's events and secret pulls: the console says so.
func (a *agent) registerBoot(ctx context.Context) {
	if a.cfg.ManifestFile != "" || a.server() == "" || a.mac == nil {
		return
	}
	_, priv, err := nodeauth.NewKey()
	if err != nil {
		a.printf("boot key: %v", err)
		return
	}
	g := &bootclient.Registrar{Attempts: a.cfg.RegisterAttempts, Backoff: a.cfg.FetchBackoff}
	s, err := g.Register(ctx, a.server(), a.node(), a.mac, priv)
	if err != nil {
		a.printf("%v; bootsrv will refuse this boot's events and secret pulls", err)
		return
	}
	a.mu.Lock()
	a.signer = s
	a.mu.Unlock()
	a.reporter.SetSigner(s)
	a.log.Info("boot key registered", "node", s.Node(), "boot", s.Boot())
}

// sign signs a request with the boot key (plan.Env.Sign); unsigned when
// the boot has none.
func (a *agent) sign(r *http.Request, body []byte) {
	a.mu.Lock()
	s := a.signer
	a.mu.Unlock()
	if s != nil {
		s.Sign(r, body)
	}
}

// announceQuery is the boot's torrent announce query (plan.Env).
func (a *agent) announceQuery() string {
	a.mu.Lock()
	s := a.signer
	a.mu.Unlock()
	if s == nil {
		return ""
	}
	return s.AnnounceQuery()
}

// osTokenFile is where the OS token goes: Config.OSTokenFile, else
// nodeauth.OSTokenFile as PID 1; "" for none.
func (a *agent) osTokenFile() string {
	if a.cfg.OSTokenFile != "" {
		return a.cfg.OSTokenFile
	}
	if a.cfg.Mount {
		return nodeauth.OSTokenFile
	}
	return ""
}

// writeOSToken registers a fresh OS token for the booted OS and writes it
// (mode 0600, folder 0700) where switch_root carries it into the new
// root's /run. Failures are logged: the OS then reports no events.
func (a *agent) writeOSToken() {
	a.mu.Lock()
	s := a.signer
	a.mu.Unlock()
	path := a.osTokenFile()
	if s == nil || path == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tok, err := bootclient.RegisterOSToken(ctx, a.server(), s)
	if err == nil {
		err = writeSecretFile(path, tok)
	}
	if err != nil {
		a.printf("OS token: %v (the booted OS cannot report events)", err)
	}
}

// writeSecretFile writes a root-only file atomically.
func writeSecretFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // an old tmp file kept its mode
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("os token %s: %w", path, err)
	}
	return nil
}
