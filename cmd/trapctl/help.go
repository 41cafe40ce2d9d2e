package main

import (
	"fmt"
	"io"
	"strings"
)

// printHelp is `trapctl help [COMMAND|all]`: the overview, or one command's
// usage and flags, from the same definitions the parser uses.
func printHelp(w io.Writer, e *env, words []string) error {
	if len(words) <= 1 {
		printUsage(w)
		return nil
	}
	if len(words) == 2 && words[1] == "all" {
		helpAll(w, e)
		return nil
	}
	cmd, rest := findCommand(words[1:])
	if cmd == nil || len(rest) > 0 {
		return usagef("help: unknown command %q", strings.Join(words[1:], " "))
	}
	fs := newFlagSet("trapctl "+cmd.name, e)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	printCommandUsage(w, cmd, fs)
	return nil
}

// helpAll writes every command's usage, for the man page and
// `trapctl help all`.
func helpAll(w io.Writer, e *env) {
	printUsage(w)
	for _, c := range commands {
		fmt.Fprintln(w)
		printHelp(w, e, append([]string{"help"}, strings.Fields(c.name)...))
	}
}
