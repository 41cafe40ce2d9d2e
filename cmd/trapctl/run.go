package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/client"
)

// defaultServer is used when neither --server, TRAPCTL_SERVER nor a
// credentials file is given and the local admin socket does not exist: a
// bootsrv's public routes, on this host.
const defaultServer = "http://127.0.0.1:8080"

// defaultSocket is bootsrv's admin socket on this host; tests replace it.
var defaultSocket = api.DefaultAdminSocket

// getenv is os.Getenv; tests replace it.
var getenv = os.Getenv

// usageError is a command-line mistake: main exits 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{fmt.Sprintf(format, args...)}
}

// env is what a command runs with.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	// server is --server / $TRAPCTL_SERVER as given ("" until connect),
	// then the server connected to, for messages.
	server      string
	credentials string // --credentials / $TRAPCTL_CREDENTIALS
	output      string // "table" or "json"
	now         func() time.Time
	hc          *http.Client // carries the credential after connect
	base        string       // URL to make requests to with hc
	cl          *client.Client
}

func (e *env) client() *client.Client { return e.cl }

// connect picks the server and credential (client.Connect): a credentials
// file, else --server, else the local admin socket, else defaultServer.
func (e *env) connect() error {
	cl, err := client.Connect(client.Target{
		Server: strings.TrimRight(e.server, "/"), Credentials: e.credentials,
		Socket: defaultSocket, Fallback: defaultServer, HTTP: e.hc,
	})
	if err != nil {
		return err
	}
	e.cl = cl
	e.hc, e.base = cl.HTTPClient()
	e.server = cl.BaseURL()
	return nil
}

// command is one trapctl subcommand.
type command struct {
	name    string // "node list"
	args    string // "[RANGE]"
	summary string
	help    string // more text for the command's usage
	// flags adds the command's own flags.
	flags func(fs *flag.FlagSet)
	// minArgs and maxArgs bound the positional arguments (-1: no maximum).
	minArgs, maxArgs int
	run              func(e *env, args []string) error
}

// httpClient is the client used by commands; tests may replace it.
var httpClient = &http.Client{Timeout: 60 * time.Second}

// run parses args and runs one command.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr, now: time.Now, hc: httpClient}
	e.server = getenv("TRAPCTL_SERVER")
	e.credentials = getenv("TRAPCTL_CREDENTIALS")
	e.output = "table"

	global := newFlagSet("trapctl", e)
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout)
			return nil
		}
		return usageFail(stderr, nil, err)
	}
	words := global.Args()
	if len(words) == 0 || words[0] == "help" {
		return printHelp(stdout, e, words)
	}
	cmd, rest := findCommand(words)
	if cmd == nil {
		return usageFail(stderr, nil, usagef("unknown command %q", strings.Join(words[:min(2, len(words))], " ")))
	}
	fs := newFlagSet("trapctl "+cmd.name, e)
	if cmd.flags != nil {
		cmd.flags(fs)
	}
	pos, err := parseInterspersed(fs, rest)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printCommandUsage(stdout, cmd, fs)
			return nil
		}
		return usageFail(stderr, cmd, err)
	}
	if len(pos) < cmd.minArgs || cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs {
		return usageFail(stderr, cmd, usagef("%s: wrong number of arguments", cmd.name))
	}
	if e.output != "table" && e.output != "json" {
		return usageFail(stderr, cmd, usagef("-o: want table or json, got %q", e.output))
	}
	if err := e.connect(); err != nil {
		return err
	}
	err = cmd.run(e, pos)
	var ue *usageError
	if errors.As(err, &ue) {
		return usageFail(stderr, cmd, err)
	}
	return err
}

// newFlagSet returns a flag set with the global flags bound to e, so they
// may appear before or after the command.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.server, "server", e.server, "bootsrv: unix:///PATH (admin socket), https://HOST:8443 (with --credentials) or http://HOST:8080 (public routes only) (default $TRAPCTL_SERVER, else the credentials' server, else the admin socket "+api.DefaultAdminSocket+" if it exists, else "+defaultServer+")")
	fs.StringVar(&e.credentials, "credentials", e.credentials, "admin credentials file from trapctl admin token create (default $TRAPCTL_CREDENTIALS)")
	fs.StringVar(&e.output, "o", e.output, "output format: table or json")
	return fs
}

// parseInterspersed parses flags anywhere among the positional arguments.
// Everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		if strings.HasPrefix(args[0], "-") && args[0] != "-" {
			// Parse up to the next positional argument.
			if err := fs.Parse(args); err != nil {
				return nil, err
			}
			consumed := len(args) - len(fs.Args())
			if consumed > 0 && args[consumed-1] == "--" {
				return append(pos, fs.Args()...), nil
			}
			args = fs.Args()
			continue
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return pos, nil
}

// findCommand matches the longest command name at the start of words.
func findCommand(words []string) (*command, []string) {
	var best *command
	bestLen := 0
	for _, c := range commands {
		parts := strings.Fields(c.name)
		if len(parts) > len(words) || len(parts) <= bestLen {
			continue
		}
		match := true
		for i, p := range parts {
			if words[i] != p {
				match = false
				break
			}
		}
		if match {
			best, bestLen = c, len(parts)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, words[bestLen:]
}

func usageFail(w io.Writer, cmd *command, err error) error {
	var ue *usageError
	if !errors.As(err, &ue) {
		err = &usageError{err.Error()}
	}
	if cmd == nil {
		printUsage(w)
	} else {
		fmt.Fprintf(w, "usage: trapctl %s %s\n", cmd.name, cmd.args)
		if cmd.help != "" {
			fmt.Fprintln(w, cmd.help)
		}
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		if cmd.flags != nil {
			cmd.flags(fs)
			fs.SetOutput(w)
			fs.PrintDefaults()
		}
	}
	return err
}

func printCommandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: trapctl [global flags] %s %s\n\n%s\n", cmd.name, cmd.args, cmd.summary)
	if cmd.help != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.help)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "usage: trapctl [--server URL] [--credentials FILE] [-o table|json] COMMAND [ARGS]\n\ncommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, c := range commands {
		fmt.Fprintf(tw, "  %s %s\t%s\n", c.name, c.args, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nglobal flags (before or after the command):\n"+
		"  --server URL         bootsrv: unix:///PATH (its admin socket, as root), https://HOST:8443\n"+
		"                       (with --credentials) or http://HOST:8080 (public routes only)\n"+
		"                       (default $TRAPCTL_SERVER, else the credentials' server, else\n"+
		"                       unix://%s if it exists, else %s)\n"+
		"  --credentials FILE   admin token file from trapctl admin token create (default $TRAPCTL_CREDENTIALS)\n"+
		"  -o FORMAT            table (default) or json\n"+
		"\nRANGE is a node range: cn[001-064],gpu[1-4],login1\n", api.DefaultAdminSocket, defaultServer)
}
