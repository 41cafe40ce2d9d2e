package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/disklesstrap/disklesstrap/api"
)

var secretNode string

var secretSet = &command{
	name: "secret set", args: "NAME [FILE] [--node RANGE]",
	summary: "store a secret in bootsrv's secret store (for nodes that pull it)",
	help: `Reads the secret from FILE (or standard input when FILE is absent or "-")
and stores it in bootsrv as secret NAME of every node of RANGE (without
--node: of every node without its own). bootsrv accepts this from its own
host only (loopback). A node in mode iscsi pulls the secrets its manifest
references over TLS (bootsrv's --tls-listen, certificate pinned in the
initramfs), from its reserved address, once per boot; with --tls-listen off
or --secrets-pull=false push them instead: trapctl secret push.`,
	minArgs: 1, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		fs.StringVar(&secretNode, "node", "", "node range the secret is for (default: every node)")
	},
	run: func(e *env, args []string) error {
		name := args[0]
		if err := checkSecretName(name); err != nil {
			return usagef("%v", err)
		}
		value, err := readSecret(argOr(args, 1))
		if err != nil {
			return err
		}
		defer clear(value)
		q := url.Values{}
		if secretNode != "" {
			q.Set("range", secretNode)
		}
		body, err := secretRequest(e, http.MethodPut, "/api/v1/secrets/"+name, q, value)
		if err != nil {
			return err
		}
		var res struct {
			Count int `json:"count"`
		}
		if err := json.Unmarshal(body, &res); err != nil {
			return fmt.Errorf("PUT /api/v1/secrets/%s: answer: %w", name, err)
		}
		_, err = printf(e.stdout, "secret %s stored for %d scope(s)\n", name, res.Count)
		return err
	},
}

var secretShow = &command{
	name: "secret show", args: "NAME [--node NODE]",
	summary: "print a secret stored in bootsrv (the value NODE would get)",
	help:    "Prints the value on standard output; only when asked, from the bootsrv host only.",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.StringVar(&secretNode, "node", "", "node whose value to show (default: the every-node value)")
	},
	run: func(e *env, args []string) error {
		if err := checkSecretName(args[0]); err != nil {
			return usagef("%v", err)
		}
		q := url.Values{}
		if secretNode != "" {
			q.Set("node", secretNode)
		}
		body, err := secretRequest(e, http.MethodGet, "/api/v1/secrets/"+args[0], q, nil)
		if err != nil {
			return err
		}
		defer clear(body)
		_, err = e.stdout.Write(body)
		return err
	},
}

// secretRequest sends one secret API request and returns the answer body
// (errors carry bootsrv's message, which never holds a value).
func secretRequest(e *env, method, path string, q url.Values, body []byte) ([]byte, error) {
	u := e.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(e.ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSecret+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var ae api.Error
		if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
			return nil, fmt.Errorf("%s %s: %s", method, path, ae.Error)
		}
		return nil, fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	return b, nil
}
