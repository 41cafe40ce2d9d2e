package iscsi

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/ctl"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// What an admin pushes into the agent's memory over SSH, for a node whose
// manifest does not (yet) carry it:
//
//	ssh node trap secret set NAME < file    a secret by reference name
//	ssh node trap iscsi config < iscsi.json  the manifest's iscsi section
//
// The `trap` client sends its standard input over the control socket (mode
// 0600, in RAM); the agent keeps it in its own memory only, never in a
// file, a log or a command line, and it vanishes with the agent at
// switch_root. A pushed secret wins over bootsrv's secret endpoint; a
// pushed iscsi section is used only when the manifest has none.
var pushed struct {
	mu      sync.Mutex
	secrets map[string][]byte
	config  *manifest.ISCSI
}

// StdinCommands are the `trap` commands that read standard input.
var StdinCommands = []string{"secret set", "iscsi config"}

// PushSecret keeps a copy of value under name in memory (the old value is
// zeroed).
func PushSecret(name string, value []byte) {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	if pushed.secrets == nil {
		pushed.secrets = map[string][]byte{}
	}
	zero(pushed.secrets[name])
	pushed.secrets[name] = append([]byte(nil), value...)
}

// pushedSecret returns a copy of a pushed secret (the caller zeroes it).
func pushedSecret(name string) ([]byte, bool) {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	v, ok := pushed.secrets[name]
	return append([]byte(nil), v...), ok
}

// PushedSecretNames lists the pushed secrets' names (not their values).
func PushedSecretNames() []string {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	var out []string
	for n := range pushed.secrets {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// secret fetches a secret: the pushed copy, else st.Secret (bootsrv). A
// pulled secret is kept in memory like a pushed one: bootsrv releases each
// secret once per boot, and a step may run again (a failed login retried
// by hand, `trap continue` re-running the plan).
func secret(ctx context.Context, st Storage, env *plan.Env, name string) ([]byte, error) {
	if v, ok := pushedSecret(name); ok {
		return v, nil
	}
	v, err := st.Secret(ctx, env, name)
	if err != nil {
		return nil, err
	}
	PushSecret(name, v)
	return v, nil
}

// PushConfig sets the iscsi section used when the manifest has none.
func PushConfig(c *manifest.ISCSI) {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	pushed.config = c
}

func pushedConfig() *manifest.ISCSI {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	return pushed.config
}

// SecretSet is `trap secret set NAME`: standard input (one trailing
// newline dropped) becomes secret NAME.
type SecretSet struct{ Secret string }

// Name implements plan.Step.
func (s *SecretSet) Name() string { return "secret set" }

// String implements plan.Step.
func (s *SecretSet) String() string {
	return "keep secret " + s.Secret + " (standard input) in the agent's memory"
}

// Run implements plan.Step.
func (s *SecretSet) Run(ctx context.Context, env *plan.Env) error {
	if s.Secret == "" || strings.ContainsAny(s.Secret, "/ \n") {
		return fmt.Errorf("secret name %q: want one word (trap secret set NAME < FILE)", s.Secret)
	}
	in := ctl.Stdin(ctx)
	v := in
	if n := len(v); n > 0 && v[n-1] == '\n' {
		v = v[:n-1]
	}
	if len(v) == 0 {
		return fmt.Errorf("secret %s: empty standard input (trap secret set %s < FILE)", s.Secret, s.Secret)
	}
	PushSecret(s.Secret, v)
	env.Logger().Info("secret kept in memory", "name", s.Secret, "bytes", len(v))
	return nil
}

// ConfigSet is `trap iscsi config`: standard input is the manifest's
// iscsi section (JSON); it is validated and kept in memory.
type ConfigSet struct{}

// Name implements plan.Step.
func (s *ConfigSet) Name() string { return "iscsi config" }

// String implements plan.Step.
func (s *ConfigSet) String() string {
	return "use the iscsi section on standard input (JSON) while the manifest has none"
}

// Run implements plan.Step.
func (s *ConfigSet) Run(ctx context.Context, env *plan.Env) error {
	var c manifest.ISCSI
	dec := json.NewDecoder(strings.NewReader(string(ctl.Stdin(ctx))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return fmt.Errorf("iscsi config on standard input: %w", err)
	}
	if err := c.Validate(); err != nil {
		return err
	}
	PushConfig(&c)
	env.Logger().Info("iscsi config kept in memory", "target", c.Target, "portals", strings.Join(c.Portals, ","))
	return nil
}

// PushCommands are the `trap` commands that push into memory; args after
// the command name are the step's arguments.
func PushCommands() map[string]func(args []string) (plan.Step, error) {
	return map[string]func(args []string) (plan.Step, error){
		"secret set": func(args []string) (plan.Step, error) {
			if len(args) != 1 {
				return nil, fmt.Errorf("usage: trap secret set NAME < FILE")
			}
			return &SecretSet{Secret: args[0]}, nil
		},
		"iscsi config": func(args []string) (plan.Step, error) {
			if len(args) != 0 {
				return nil, fmt.Errorf("usage: trap iscsi config < iscsi.json")
			}
			return &ConfigSet{}, nil
		},
	}
}
