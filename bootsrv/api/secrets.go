package api

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"sync"

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
//     name, and the secret has not been released yet in this boot (boot
//     number from state: iPXE scripts served; kept in memory, so a bootsrv
//     restart allows one more fetch per boot). Refusals are 403 (404 for a
//     name the node does not reference or bootsrv does not hold); no error
//     and no log line carries a value.

// maxSecretBody bounds a PUT body.
const maxSecretBody = secrets.MaxSize

// releases remembers which secrets were released in which boot.
type releases struct {
	mu   sync.Mutex
	boot map[string]int64 // node + "/" + name -> boot number
}

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

// pullSecret serves GET /api/v1/secrets/{node}/{name} (see above).
func (a *API) pullSecret(w http.ResponseWriter, r *http.Request) error {
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
	if m.ISCSI == nil {
		return errorf(http.StatusForbidden, "secret %s of node %s: the node's mode is %s (continue %s), not iscsi with a valid iscsi configuration", name, node, m.Mode, m.Continue)
	}
	if !slices.Contains(iscsiSecretNames(m.ISCSI), name) {
		return errorf(http.StatusNotFound, "secret %s of node %s: not referenced by the node's iscsi configuration, or not stored", name, node)
	}
	stat, err := a.cfg.Store.Status([]string{node})
	if err != nil {
		return err
	}
	boot := stat[node].Boots
	key := node + "/" + name
	a.released.mu.Lock()
	defer a.released.mu.Unlock()
	if b, ok := a.released.boot[key]; ok && b == boot {
		return errorf(http.StatusForbidden, "secret %s of node %s: already released in this boot (boot %d); it is released once per boot", name, node, boot)
	}
	v, err := st.Lookup(node, name)
	if errors.Is(err, secrets.ErrNotFound) {
		return errorf(http.StatusNotFound, "secret %s of node %s: not referenced by the node's iscsi configuration, or not stored", name, node)
	}
	if err != nil {
		return err
	}
	defer clear(v)
	if a.released.boot == nil {
		a.released.boot = map[string]int64{}
	}
	a.released.boot[key] = boot
	a.log.Info("secret released", "node", node, "name", name, "boot", boot, "remote", src)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(v)
	return err
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
