package main

import (
	"fmt"
	"io"
	"os"
)

// stdinReader is trapctl's standard input (a var for tests).
var stdinReader io.Reader = os.Stdin

// maxSecret bounds a secret read from a file or standard input.
const maxSecret = 64 << 10

var secretPush = &command{
	name: "secret push", args: "RANGE NAME [FILE]",
	summary: "push a secret into trapped nodes' agent memory over SSH",
	help: `Reads the secret from FILE (or standard input when FILE is absent or "-")
and runs "trap secret set NAME" on every node of RANGE with the secret on
ssh's standard input (never on a command line, never printed).`,
	minArgs: 2, maxArgs: 3,
	flags: sshFlags,
	run: func(e *env, args []string) error {
		return pushSecret(e, args[0], args[1], argOr(args, 2))
	},
}

// pushSecret sends the secret read from file ("" or "-": stdin) to
// `trap secret set name` on every node of rangeExpr.
func pushSecret(e *env, rangeExpr, name, file string) error {
	if err := checkSecretName(name); err != nil {
		return usagef("%v", err)
	}
	value, err := readSecret(file)
	if err != nil {
		return err
	}
	defer clear(value)
	results, err := fanOut(e, rangeExpr, "trap secret set "+name, value)
	if err != nil {
		return err
	}
	return reportResults(e, results)
}

// checkSecretName accepts names safe on a remote shell command line and
// in a URL path: letters, digits, '.', '_' and '-'.
func checkSecretName(name string) error {
	if name == "" || len(name) > 64 || name[0] == '-' || name[0] == '.' {
		return fmt.Errorf("secret name %q: want 1-64 letters, digits, '.', '_' or '-'", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-'
		if !ok {
			return fmt.Errorf("secret name %q: want 1-64 letters, digits, '.', '_' or '-'", name)
		}
	}
	return nil
}

// readSecret reads a secret from file ("" or "-": standard input).
func readSecret(file string) ([]byte, error) {
	var r io.Reader = stdinReader
	what := "standard input"
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, what = f, file
	}
	v, err := io.ReadAll(io.LimitReader(r, maxSecret+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("secret from %s: %w", what, err)
	case len(v) > maxSecret:
		return nil, fmt.Errorf("secret from %s: longer than %d bytes", what, maxSecret)
	case len(v) == 0:
		return nil, fmt.Errorf("secret from %s: empty", what)
	}
	return v, nil
}
