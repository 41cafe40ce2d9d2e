package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"sync"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/noderange"
)

var luksPushOpts struct {
	ref, file, secret string
}

var luksPush = &command{
	name: "luks push", args: "RANGE IMAGE [flags]",
	summary: "push an image's LUKS passphrase into trapped nodes' agent memory over SSH",
	help: `Fetches each node's passphrase of IMAGE from bootsrv's secret store (secret
SECRET, default luks-IMAGE, as stored by trapctl image encrypt; bootsrv on
this host: loopback only), groups the nodes that get the same value, and runs
"trap secret set REF" on every node with the passphrase on ssh's standard
input (never on a command line, never printed). REF defaults to SECRET, the
name an inventory "luks_key: luks-IMAGE" makes the manifest reference.
With --file FILE ("-": standard input) the passphrase comes from FILE instead
(REF then defaults to luks-IMAGE, or "luks" without IMAGE). A node without a
stored passphrase stops the push before any ssh runs. Takes the flags of
trapctl ssh (host keys pinned).`,
	minArgs: 1, maxArgs: 2,
	flags: func(fs *flag.FlagSet) {
		sshFlags(fs)
		luksPushOpts.ref, luksPushOpts.file, luksPushOpts.secret = "", "", ""
		fs.StringVar(&luksPushOpts.ref, "name", "", "secret reference name on the node (default: SECRET, or luks-IMAGE / luks with --file)")
		fs.StringVar(&luksPushOpts.file, "file", "", `read the passphrase from FILE ("-": standard input) instead of bootsrv`)
		fs.StringVar(&luksPushOpts.secret, "secret", "", "secret name in bootsrv's store (default luks-IMAGE)")
	},
	run: runLUKSPush,
}

func runLUKSPush(e *env, args []string) error {
	o := &luksPushOpts
	rangeExpr, image := args[0], argOr(args, 1)
	if image == "" && o.file == "" {
		return usagef("luks push: want IMAGE (key from bootsrv) or --file FILE")
	}
	if image != "" {
		if err := secrets.CheckName("image", image); err != nil {
			return usagef("luks push: %v", err)
		}
	}
	secret := o.secret
	if secret == "" && image != "" {
		secret = "luks-" + image
	}
	ref := o.ref
	switch {
	case ref != "":
	case secret != "":
		ref = secret
	default:
		ref = "luks"
	}
	if err := checkSecretName(ref); err != nil {
		return usagef("--name: %v", err)
	}
	if o.file != "" {
		if o.secret != "" {
			return usagef("luks push: --file and --secret exclude each other")
		}
		return pushSecret(e, rangeExpr, ref, o.file)
	}
	if err := checkSecretName(secret); err != nil {
		return usagef("--secret: %v", err)
	}
	groups, err := secretGroups(e, rangeExpr, secret)
	if err != nil {
		return err
	}
	defer func() {
		for _, g := range groups {
			clear(g.value)
		}
	}()
	var results []sshResult
	for _, g := range groups {
		r, err := fanOut(e, noderange.Compact(g.nodes), "trap secret set "+ref, g.value)
		if err != nil {
			return err
		}
		results = append(results, r...)
	}
	sort.Slice(results, func(i, j int) bool { return noderange.Less(results[i].Node, results[j].Node) })
	return reportResults(e, results)
}

// secretGroup is a set of nodes that get the same secret value.
type secretGroup struct {
	nodes []string
	value []byte
}

// secretFetchers bounds the concurrent secret GETs of secretGroups.
const secretFetchers = 8

// secretGroups fetches secret for every node of rangeExpr from bootsrv and
// groups the nodes by value (one copy per group; the caller zeroes them).
// A node without the secret fails the whole call, naming the nodes.
func secretGroups(e *env, rangeExpr, secret string) ([]*secretGroup, error) {
	st, err := e.client().Status(e.ctx, rangeExpr)
	if err != nil {
		return nil, bootsrvErr(e, err)
	}
	if len(st) == 0 {
		return nil, fmt.Errorf("range %q: no nodes", rangeExpr)
	}
	type fetched struct {
		value []byte
		found bool
		err   error
	}
	got := make([]fetched, len(st))
	sem := make(chan struct{}, secretFetchers)
	var wg sync.WaitGroup
	for i, s := range st {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, found, err := fetchSecret(e, secret, s.Node)
			got[i] = fetched{v, found, err}
		}()
	}
	wg.Wait()

	var (
		missing  []string
		firstErr error
		groups   []*secretGroup
	)
	byDigest := map[[sha256.Size]byte]*secretGroup{}
	for i, f := range got {
		node := st[i].Node
		switch {
		case f.err != nil:
			if firstErr == nil {
				firstErr = fmt.Errorf("secret %s of node %s: %w", secret, node, bootsrvErr(e, f.err))
			}
		case !f.found:
			missing = append(missing, node)
		default:
			d := sha256.Sum256(f.value)
			if g, ok := byDigest[d]; ok {
				g.nodes = append(g.nodes, node)
				clear(f.value)
				continue
			}
			g := &secretGroup{nodes: []string{node}, value: f.value}
			byDigest[d] = g
			groups = append(groups, g)
		}
	}
	if firstErr == nil && len(missing) > 0 {
		firstErr = fmt.Errorf("bootsrv holds no secret %s for %s: make it with trapctl image encrypt RAW --name IMAGE, or store it with trapctl secret set %s", secret, noderange.Compact(missing), secret)
	}
	if firstErr != nil {
		for _, g := range groups {
			clear(g.value)
		}
		return nil, firstErr
	}
	return groups, nil
}

// fetchSecret gets the secret node would get (node "": the every-node
// value) from bootsrv: found is false when bootsrv holds none (404).
func fetchSecret(e *env, name, node string) (value []byte, found bool, err error) {
	q := url.Values{}
	if node != "" {
		q.Set("node", node)
	}
	u := e.base + "/api/v1/secrets/" + name
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, false, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, false, fmt.Errorf("GET /api/v1/secrets/%s: %w", name, err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(io.LimitReader(resp.Body, maxSecret+1))
	b := buf.Bytes()
	switch {
	case err != nil:
		clear(b)
		return nil, false, fmt.Errorf("GET /api/v1/secrets/%s: %w", name, err)
	case resp.StatusCode == http.StatusNotFound:
		return nil, false, nil
	case resp.StatusCode != http.StatusOK:
		// Error bodies never hold a value (bootsrv's rule).
		var ae api.Error
		if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
			return nil, false, fmt.Errorf("GET /api/v1/secrets/%s: %s", name, ae.Error)
		}
		return nil, false, fmt.Errorf("GET /api/v1/secrets/%s: %s", name, resp.Status)
	case len(b) == 0 || len(b) > maxSecret:
		clear(b)
		return nil, false, fmt.Errorf("GET /api/v1/secrets/%s: answer of %d bytes, want 1 to %d", name, len(b), maxSecret)
	}
	return b, true, nil
}

// bootsrvErr says "bootsrv unreachable" for connection failures.
func bootsrvErr(e *env, err error) error {
	var op *net.OpError
	if errors.As(err, &op) {
		return fmt.Errorf("bootsrv unreachable at %s (is it running on this host? --server or $TRAPCTL_SERVER): %w", e.server, err)
	}
	return err
}
