package install

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// PostscriptFile is where the node's postscript is written to run.
const PostscriptFile = "/run/dt/install/postscript.sh"

// Postscript is the "install postscript" step: the node's postscript run
// with DT_DISK and DT_SYSROOT, the new root still mounted at /sysroot.
type Postscript struct {
	Script   string
	Selector manifest.DiskSelector
	Node     string
	Probe    Prober
	Root     string
}

// Name implements plan.Step.
func (s *Postscript) Name() string { return "install postscript" }

// String implements plan.Step.
func (s *Postscript) String() string {
	if s.Script == "" {
		return "no postscript"
	}
	return fmt.Sprintf("postscript (%d bytes) with DT_DISK, DT_SYSROOT=%s", len(s.Script), NewRoot)
}

// Run implements plan.Step.
func (s *Postscript) Run(ctx context.Context, env *plan.Env) error {
	if s.Script == "" {
		return nil
	}
	d, _, err := Choose(s.Selector, probe(s.Probe, s.Root))
	if err != nil {
		return err
	}
	return runScript(ctx, env, "postscript", s.Root+PostscriptFile, s.Script, scriptEnv(s.Root+"/dev/"+d.Name, s.Node))
}

// Done is the "install done" step: unmount everything under /sysroot
// (deepest first; the disk is consistent afterwards) and report
// manifest.PhaseInstallDone, on which bootsrv switches the node to mode
// local.
type Done struct {
	Selector manifest.DiskSelector
	Image    manifest.Image
	Probe    Prober
	Root     string
}

// Name implements plan.Step.
func (s *Done) Name() string { return "install done" }

// String implements plan.Step.
func (s *Done) String() string {
	return "unmount " + NewRoot + ", report install-done (bootsrv switches the node to mode local)"
}

// Run implements plan.Step.
func (s *Done) Run(ctx context.Context, env *plan.Env) error {
	d, _, err := Choose(s.Selector, probe(s.Probe, s.Root))
	if err != nil {
		return err
	}
	ms, err := mountsUnder(env, s.Root+NewRoot)
	if err != nil {
		return err
	}
	for i := len(ms) - 1; i >= 0; i-- {
		if err := env.Sys.Unmount(ms[i].MountPoint); err != nil {
			return err
		}
	}
	if _, err := env.Run.Run(ctx, "sync"); err != nil {
		return err
	}
	msg := fmt.Sprintf("installed %s onto /dev/%s (%s)", s.Image.Name, d.Name, Describe(d))
	env.Logger().Info(msg)
	if env.Report != nil {
		env.Report(manifest.Event{Node: env.Manifest.Node, Phase: manifest.PhaseInstallDone, Message: msg, Data: map[string]string{
			"step": s.Name(), "disk": "/dev/" + d.Name, "serial": d.Serial, "image": s.Image.Name, "sha256": s.Image.SHA256}})
	}
	return nil
}

// Reboot is the "reboot" step: wait until bootsrv's manifest for the node
// says mode local (the install-done event arrived and switched it), then
// reboot, so the next boot comes from the disk. If bootsrv never switches
// the node, the step fails instead of rebooting into another install.
type Reboot struct {
	Server, Node string
	// Wait is how long to wait for mode local; 0 is 60 s.
	Wait   time.Duration
	Client *http.Client
}

// Name implements plan.Step.
func (s *Reboot) Name() string { return "reboot" }

// String implements plan.Step.
func (s *Reboot) String() string {
	return "wait for bootsrv to switch " + s.Node + " to mode local, then reboot (from the disk)"
}

// Run implements plan.Step.
func (s *Reboot) Run(ctx context.Context, env *plan.Env) error {
	wait := s.Wait
	if wait == 0 {
		wait = 60 * time.Second
	}
	client := s.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	u := strings.TrimRight(s.Server, "/") + "/manifest/" + url.PathEscape(s.Node)
	deadline := time.Now().Add(wait)
	last := "no answer"
	for {
		mode, err := fetchMode(ctx, client, u)
		if err == nil && mode == manifest.ModeLocal {
			break
		}
		if err != nil {
			last = err.Error()
		} else {
			last = "mode " + string(mode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bootsrv did not switch %s to mode local within %s (%s): not rebooting into another install; `trapctl mode set %s local`, then reboot", s.Node, wait, last, s.Node)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	env.Logger().Info("bootsrv switched the node to mode local; rebooting")
	return host(env).Reboot()
}

func fetchMode(ctx context.Context, c *http.Client, u string) (manifest.Mode, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var m struct {
		Mode manifest.Mode `json:"mode"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return "", fmt.Errorf("GET %s: %w", u, err)
	}
	return m.Mode, nil
}
