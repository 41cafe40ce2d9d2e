package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"

	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// Secrets (mode iscsi) through the API; see docs/threat-model.md.
//
//   - PUT /api/v1/secrets/{name}[?range=R]: store the request body as
//     secret name of every node of R (no range: of every node). An admin
//     route (adminauth.go): the admin socket, or a token over TLS; audited
//     by name and range, never the value.
//   - GET /api/v1/secrets/{name}?node=N: the secret N would get (trapctl
//     secret show). An admin route, like PUT.
//   - GET /api/v1/secrets/{node}/{name}: a node pulls its secret, over
//     TLS only (bootsrv's TLS listener, whose certificate the node pins;
//     see tls.go): over plain HTTP it is 403 naming the https URL. Off
//     unless Config.SecretsPull. Released only when the request's source
//     address is the node's reserved inventory address, the node's
//     manifest (effective mode iscsi, or Continue iscsi) references the
//     name, the request is signed with the node's registered boot key
//     (requireNode, nodeauth.go), and the secret has not been released to
//     that boot yet (a durable release record in state: once per node,
//     boot key and name, also across bootsrv restarts). A second request
//     is refused, logged as a warning and recorded as a secret-refused
//     event; a release is a secret-released event, and the agent reports
//     secret-received, so a secret released but never received shows in
//     trapctl events. Refusals are 403 (404 for a name the node does not
//     reference or bootsrv does not hold: the same answer for both); no
//     error and no log line carries a value.

// maxSecretBody bounds a PUT body.
const maxSecretBody = secrets.MaxSize

// secretStore returns the store or a 503 naming what is missing.
func (a *API) secretStore() (*secrets.Store, error) {
	if a.cfg.Secrets == nil {
		return nil, errorf(http.StatusServiceUnavailable, "secret store not configured in bootsrv")
	}
	return a.cfg.Secrets, nil
}

func sourceAddr(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	return a.Unmap(), err == nil
}

func (a *API) putSecret(w http.ResponseWriter, r *http.Request) error {
	st, err := a.secretStore()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := secrets.CheckName("secret", name); err != nil {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	value, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSecretBody))
	if err != nil {
		return err
	}
	defer clear(value)
	auditf(r, "set secret %s for range %q (%d bytes)", name, r.URL.Query().Get("range"), len(value))
	scopes := []string{secrets.AllNodes}
	if rng := r.URL.Query().Get("range"); rng != "" {
		c, err := a.cluster()
		if err != nil {
			return err
		}
		nodes, err := resolveRange(c, rng, "parameter range")
		if err != nil {
			return err
		}
		scopes = names(nodes)
	}
	for _, s := range scopes {
		if err := st.Put(s, name, value); err != nil {
			return errorf(http.StatusBadRequest, "%v", err)
		}
	}
	a.log.Info("secret set", "name", name, "range", r.URL.Query().Get("range"), "nodes", len(scopes))
	return writeJSON(w, http.StatusOK, map[string]int{"count": len(scopes)})
}

func (a *API) showSecret(w http.ResponseWriter, r *http.Request) error {
	st, err := a.secretStore()
	if err != nil {
		return err
	}
	name, node := r.PathValue("name"), r.URL.Query().Get("node")
	if node == "" {
		node = secrets.AllNodes
	}
	v, err := st.Lookup(node, name)
	if errors.Is(err, secrets.ErrNotFound) {
		return errorf(http.StatusNotFound, "%v", err)
	}
	if err != nil {
		return err
	}
	defer clear(v)
	a.log.Info("secret shown", "name", name, "node", node)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(v)
	return err
}

// pullOverTLS wraps the pull route (outside requireNode): over plain HTTP,
// or with pulls off, the answer says so before any credential is looked at.
func (a *API) pullOverTLS(fn func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		node, name := r.PathValue("node"), r.PathValue("name")
		if r.TLS == nil {
			if a.cfg.TLSPort == 0 {
				return errorf(http.StatusForbidden, "secret %s of node %s: secret pull needs TLS, and bootsrv serves none (--tls-listen); push it over SSH: trapctl secret push %s %s FILE", name, node, node, name)
			}
			return errorf(http.StatusForbidden, "secret %s of node %s: secret pull needs TLS: use %s", name, node, a.secretURL(r, node, name))
		}
		if !a.cfg.SecretsPull {
			return errorf(http.StatusForbidden, "secret %s of node %s: pulling secrets is off in bootsrv (--secrets-pull); push it over SSH: trapctl secret push %s %s FILE", name, node, node, name)
		}
		return fn(w, r)
	}
}

// pullSecret serves GET /api/v1/secrets/{node}/{name} (see above).
func (a *API) pullSecret(w http.ResponseWriter, r *http.Request) error {
	node, name := r.PathValue("node"), r.PathValue("name")
	st, err := a.secretStore()
	if err != nil {
		return err
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	n, ok := c.Node(node)
	if !ok {
		return errorf(http.StatusNotFound, "secret %s of node %s: node not in the inventory", name, node)
	}
	ifc := n.BootInterface()
	src, _ := sourceAddr(r)
	if ifc == nil || !ifc.IP.IsValid() || src != ifc.IP {
		return errorf(http.StatusForbidden, "secret %s of node %s: request from %s, not from the node's reserved address", name, node, src)
	}
	m, err := a.nodeManifest(r, c, n)
	if err != nil {
		return err
	}
	bmcPassword := m.BMCSetup != nil && m.BMCSetup.Password.Name == name
	if m.ISCSI == nil && !bmcPassword {
		return errorf(http.StatusForbidden, "secret %s of node %s: the node's mode is %s (continue %s), not iscsi with a valid iscsi configuration, and the name is not its setupbmc password", name, node, m.Mode, m.Continue)
	}
	if !bmcPassword && !slices.Contains(iscsiSecretNames(m.ISCSI), name) {
		return errorf(http.StatusNotFound, "secret %s of node %s: not referenced by the node's iscsi configuration, or not stored", name, node)
	}
	caller, ok := callerOf(r)
	if !ok || caller.OSToken {
		return errorf(http.StatusForbidden, "secret %s of node %s: a secret is released only to a request signed with the node's registered boot key", name, node)
	}
	v, err := st.Lookup(node, name)
	if errors.Is(err, secrets.ErrNotFound) {
		return errorf(http.StatusNotFound, "secret %s of node %s: not referenced by the node's iscsi configuration, or not stored", name, node)
	}
	if err != nil {
		return err
	}
	defer clear(v)
	first, err := a.cfg.Store.ReleaseSecret(node, caller.Boot, name, src.String())
	if err != nil {
		return err
	}
	data := map[string]string{"name": name, "boot": caller.Boot, "remote": src.String()}
	if !first {
		a.log.Warn("secret refused: already released to this boot", "node", node, "name", name, "boot", caller.Boot, "remote", src)
		a.queueEvent(manifest.Event{Node: node, Phase: manifest.PhaseSecretRefused,
			Message: "secret " + name + " requested again; already released to boot " + caller.Boot, Data: data})
		return errorf(http.StatusForbidden, "secret %s of node %s: already released to boot %s; it is released once per boot", name, node, caller.Boot)
	}
	a.log.Info("secret released", "node", node, "name", name, "boot", caller.Boot, "remote", src)
	a.queueEvent(manifest.Event{Node: node, Phase: manifest.PhaseSecretReleased, Message: "secret " + name, Data: data})
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(v)
	return err
}

// queueEvent records an event of bootsrv's own (best effort).
func (a *API) queueEvent(ev manifest.Event) {
	if err := a.cfg.Store.QueueEvents([]manifest.Event{ev}); err != nil {
		a.log.Warn("record event", "node", ev.Node, "phase", ev.Phase, "err", err)
	}
}

// iscsiSecretNames lists the secret names an ISCSI description references.
func iscsiSecretNames(c *manifest.ISCSI) []string {
	var out []string
	for _, a := range []*manifest.CHAP{c.CHAP, c.MutualCHAP, c.DiscoveryCHAP, c.DiscoveryMutualCHAP} {
		if a != nil {
			out = append(out, a.Secret.Name)
		}
	}
	if c.LUKS != nil {
		out = append(out, c.LUKS.Key.Name)
	}
	return out
}
