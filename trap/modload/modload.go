// Package modload loads the kernel modules the initramfs builder chose
// (the "modules" list of /etc/trap/config.json) with u-root's kmodule,
// which follows modules.dep (written by depmod) but ignores modules.alias:
// every module the agent needs is named explicitly.
//
// A module that is already loaded counts as loaded; a module missing from
// modules.dep is logged and skipped, never fatal: the boot goes on and the
// admin can look from the trap.
package modload

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/u-root/u-root/pkg/kmodule"
)

// Prober loads one module and its dependencies.
type Prober interface {
	Probe(name, params string) error
}

// Kmodule returns a Prober for the modules under
// ROOT/lib/modules/KVER (KVER "" = the running kernel's release). dryRun,
// when not nil, receives each .ko path in load order instead of loading it.
func Kmodule(root, kver string, dryRun func(path string)) (Prober, error) {
	p, err := kmodule.NewProber(kmodule.ProbeOpts{RootDir: root, KVer: kver, DryRunCB: dryRun, IgnoreProcMods: dryRun != nil})
	if err != nil {
		return nil, fmt.Errorf("kernel modules under %s/lib/modules/%s: %w", root, kver, err)
	}
	return p, nil
}

// Result says what happened to each module asked for.
type Result struct {
	Loaded  []string
	Missing []string          // not in modules.dep
	Failed  map[string]string // name -> error text
}

// String summarises the result on one line.
func (r Result) String() string {
	s := fmt.Sprintf("loaded [%s]", strings.Join(r.Loaded, " "))
	if len(r.Missing) > 0 {
		s += fmt.Sprintf(" missing [%s]", strings.Join(r.Missing, " "))
	}
	if len(r.Failed) > 0 {
		s += fmt.Sprintf(" failed %d", len(r.Failed))
	}
	return s
}

// Load probes each module in order. An entry is a module name optionally
// followed by parameters: "zram num_devices=2".
func Load(p Prober, modules []string, log *slog.Logger) Result {
	if log == nil {
		log = slog.Default()
	}
	var r Result
	for _, m := range modules {
		name, params, _ := strings.Cut(strings.TrimSpace(m), " ")
		if name == "" {
			continue
		}
		err := p.Probe(name, strings.TrimSpace(params))
		switch {
		case err == nil:
			r.Loaded = append(r.Loaded, name)
			log.Debug("module loaded", "module", name)
		case strings.Contains(err.Error(), "could not find"):
			r.Missing = append(r.Missing, name)
			log.Warn("module not found", "module", name, "err", err)
		default:
			if r.Failed == nil {
				r.Failed = map[string]string{}
			}
			r.Failed[name] = err.Error()
			log.Error("module load failed", "module", name, "err", err)
		}
	}
	return r
}
