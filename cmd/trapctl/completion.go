package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Shell completion: the scripts call `trapctl completion words -- WORDS`,
// which prints the candidates for the last word, one per line: commands,
// flags, node names (from the inventory through the admin API, when
// reachable within a second or two), image names, discovered MACs, modes.

var completionCmd = &command{
	name: "completion", args: "bash|zsh",
	summary: "shell completion script: source <(trapctl completion bash)",
	help: "Completes commands, flags, node names (from the inventory, through the admin API when reachable),\n" +
		"image names, discovered MACs and modes. `trapctl completion words -- WORDS` is what the scripts call.",
	minArgs: 1, maxArgs: -1,
	run: func(e *env, args []string) error {
		switch args[0] {
		case "bash":
			_, err := fmt.Fprint(e.stdout, bashCompletion)
			return err
		case "zsh":
			_, err := fmt.Fprint(e.stdout, zshCompletion)
			return err
		case "words":
			for _, c := range complete(e, args[1:]) {
				fmt.Fprintln(e.stdout, c)
			}
			return nil
		}
		return usagef("completion: want bash or zsh, got %q", args[0])
	},
}

const bashCompletion = `# trapctl bash completion: source <(trapctl completion bash)
_trapctl() {
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words
    read -r -a words <<< "$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    local cur=${words[${#words[@]}-1]}
    local IFS=$'\n'
    local -a cands
    cands=($(trapctl completion words -- "${words[@]:1}" 2>/dev/null))
    COMPREPLY=()
    local c
    for c in "${cands[@]}"; do
        # bash splits words at ':' (MACs): complete the part after the last one.
        if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then c=${c#"${cur%:*}":}; fi
        COMPREPLY+=("$c")
    done
}
complete -o default -F _trapctl trapctl
`

const zshCompletion = `#compdef trapctl
# trapctl zsh completion: source <(trapctl completion zsh)
_trapctl() {
    local -a cands
    cands=("${(@f)$(trapctl completion words -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    cands=(${cands:#})
    if (( ${#cands} )); then
        compadd -Q -- "${cands[@]}"
    else
        _files
    fi
}
compdef _trapctl trapctl
`

// valueFlags are the global flags that take a value.
var valueFlags = map[string]bool{"server": true, "credentials": true, "o": true}

// complete returns the candidates for the last of words (the words after
// "trapctl"; the last one is being typed, "" for a new word).
func complete(e *env, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	cur := words[len(words)-1]
	var plain []string // words before cur, without flags and their values
	prevFlag := ""
	for i := 0; i < len(words)-1; i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") && w != "-" {
			name := strings.TrimLeft(w, "-")
			if n, _, has := strings.Cut(name, "="); !has && (valueFlags[n] || commandValueFlag(plain, n)) {
				if i+1 < len(words)-1 {
					i++
				} else {
					prevFlag = n
				}
			}
			continue
		}
		plain = append(plain, w)
	}
	filter := func(cands []string) []string {
		var out []string
		for _, c := range cands {
			if strings.HasPrefix(c, cur) {
				out = append(out, c)
			}
		}
		return out
	}
	switch prevFlag {
	case "o":
		return filter([]string{"table", "json"})
	case "server", "credentials":
		return nil // the shell completes file names
	case "":
	default:
		return nil
	}
	cmd, rest := findCommand(plain)
	if cmd == nil {
		return filter(nextCommandWords(plain))
	}
	if strings.HasPrefix(cur, "-") {
		return filter(flagNames(cmd))
	}
	return filter(e.argCandidates(cmd, len(rest)))
}

// commandValueFlag reports whether the command named by plain has a flag n
// that takes a value.
func commandValueFlag(plain []string, n string) bool {
	cmd, _ := findCommand(plain)
	if cmd == nil || cmd.flags == nil {
		return false
	}
	fs := flag.NewFlagSet("", flag.ContinueOnError)
	cmd.flags(fs)
	f := fs.Lookup(n)
	if f == nil {
		return false
	}
	bf, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !bf.IsBoolFlag()
}

// nextCommandWords are the words that may follow plain in a command name.
func nextCommandWords(plain []string) []string {
	var out []string
	for _, c := range append(commands, &command{name: "help"}) {
		parts := strings.Fields(c.name)
		if len(parts) <= len(plain) || !slices.Equal(parts[:len(plain)], plain) {
			continue
		}
		if w := parts[len(plain)]; !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return out
}

// flagNames are cmd's flags and the global ones, as --name.
func flagNames(cmd *command) []string {
	fs := newFlagSet("", &env{})
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	var out []string
	fs.VisitAll(func(f *flag.Flag) { out = append(out, "--"+f.Name) })
	return out
}

// argCandidates completes positional argument i of cmd from its args text.
func (e *env) argCandidates(cmd *command, i int) []string {
	var spec []string
	for _, f := range strings.Fields(cmd.args) {
		if strings.HasPrefix(f, "[-") || strings.HasPrefix(f, "--") || f == "|" {
			continue
		}
		spec = append(spec, strings.Trim(f, "[]."))
	}
	if cmd.name == "completion" {
		if i == 0 {
			return []string{"bash", "zsh"}
		}
		return nil
	}
	if i >= len(spec) {
		return nil
	}
	switch arg := spec[i]; {
	case arg == "MODE":
		out := make([]string, len(manifest.Modes))
		for i, m := range manifest.Modes {
			out[i] = string(m)
		}
		return out
	case arg == "MAC":
		return e.discoveredMACs()
	case strings.HasPrefix(cmd.name, "image ") && (arg == "NAME" || arg == "IMAGE" || arg == "OLD" || arg == "NEW"):
		return e.imageNames()
	case arg == "RANGE" || arg == "NODE" || (arg == "NAME" && strings.HasPrefix(cmd.name, "node ")) || arg == "NODES":
		return e.nodeNames()
	}
	return nil
}

// completionTimeout bounds each API call of a completion.
const completionTimeout = 2 * time.Second

func (e *env) nodeNames() []string {
	ctx, cancel := context.WithTimeout(e.ctx, completionTimeout)
	defer cancel()
	nodes, err := e.client().Nodes(ctx, "", false)
	if err != nil {
		return nil
	}
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

func (e *env) imageNames() []string {
	ctx, cancel := context.WithTimeout(e.ctx, completionTimeout)
	defer cancel()
	imgs, err := e.client().Images(ctx)
	if err != nil {
		return nil
	}
	out := make([]string, len(imgs))
	for i, im := range imgs {
		out[i] = im.Name
	}
	return out
}

func (e *env) discoveredMACs() []string {
	ctx, cancel := context.WithTimeout(e.ctx, completionTimeout)
	defer cancel()
	ds, err := e.client().Discovered(ctx)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range ds {
		if !d.Named {
			out = append(out, d.MAC)
		}
	}
	return out
}
