package api

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"

	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// maxRegistration bounds a registration body.
const maxRegistration = 4 << 10

// registerBoot serves POST /api/v1/boot/register (nodeauth.Registration ->
// nodeauth.Registered): the agent's first contact of a boot. A public
// route that makes its own checks, in order:
//   - the body is a Registration with a MAC and a 32-byte ed25519 key,
//     and the request is signed with that key (boot id "register", node
//     = the registration's node, or its MAC for an unknown node): proof
//     that the caller holds the private half;
//   - it comes from a privileged source port (<= 1023: only root on the
//     node can bind one; Warewulf's secure-port check);
//   - the node is the inventory node of that name whose boot interface
//     has that MAC, or (no name) the inventory node with that MAC, or an
//     unknown MAC bootsrv has seen booting (named mac-XXXXXXXXXXXX);
//   - it comes from the node's address (reserved, else its lease);
//   - a boot is open: bootsrv served the node's iPXE script since the last
//     registration (state.Store.RegisterBoot). Only then does the new key
//     replace the previous one.
//
// Refusals are 400 (bad body), 401 (bad proof), 403 (port, node, address)
// or 409 (no open boot), logged as warnings.
func (a *API) registerBoot(w http.ResponseWriter, r *http.Request) error {
	reg, err := a.checkRegistration(w, r)
	if err != nil {
		src, _ := sourceAddr(r)
		a.log.Warn("boot registration refused", "remote", src, "reason", err)
		return err
	}
	bk, err := a.cfg.Store.RegisterBoot(reg.Node, reg.Key, r.RemoteAddr, newBootID)
	if errors.Is(err, state.ErrNoOpenBoot) {
		a.log.Warn("boot registration refused", "node", reg.Node, "remote", r.RemoteAddr, "reason", err)
		return errorf(http.StatusConflict, "register node %s: %v", reg.Node, err)
	}
	if err != nil {
		return err
	}
	a.log.Info("boot registered", "node", reg.Node, "boot", bk.Boot, "remote", r.RemoteAddr, "key", hex.EncodeToString(bk.Key[:8]))
	return writeJSON(w, http.StatusOK, nodeauth.Registered{Node: reg.Node, Boot: bk.Boot})
}

// checkRegistration reads and checks a registration; the returned Node is
// the resolved node name.
func (a *API) checkRegistration(w http.ResponseWriter, r *http.Request) (nodeauth.Registration, error) {
	var reg nodeauth.Registration
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRegistration))
	if err != nil {
		return reg, err
	}
	r.Body = io.NopCloser(nil)
	if err := decodeBytes(body, &reg); err != nil {
		return reg, err
	}
	mac, err := net.ParseMAC(reg.MAC)
	if err != nil || len(mac) != 6 {
		return reg, errorf(http.StatusBadRequest, "registration: field mac: %q is not a MAC address", reg.MAC)
	}
	if len(reg.Key) != ed25519.PublicKeySize {
		return reg, errorf(http.StatusBadRequest, "registration: field key: want a %d-byte ed25519 public key, got %d bytes", ed25519.PublicKeySize, len(reg.Key))
	}
	claims, err := nodeauth.Verify(reg.Key, r, body)
	if err != nil {
		return reg, errorf(http.StatusUnauthorized, "registration: %v", err)
	}
	signedAs := reg.Node
	if signedAs == "" {
		signedAs = reg.MAC
	}
	if claims.Boot != nodeauth.RegisterBoot || claims.Node != signedAs {
		return reg, errorf(http.StatusUnauthorized, "registration: signed as node %q boot %q, want node %q boot %q", claims.Node, claims.Boot, signedAs, nodeauth.RegisterBoot)
	}
	_, portText, _ := net.SplitHostPort(r.RemoteAddr)
	port, err := strconv.Atoi(portText)
	if err != nil || port > nodeauth.MaxSecurePort {
		return reg, errorf(http.StatusForbidden, "registration: source port %s is not privileged (want <= %d: only root on the node may register)", portText, nodeauth.MaxSecurePort)
	}
	c, err := a.cluster()
	if err != nil {
		return reg, err
	}
	if m, ok := parseDiscoveryName(reg.Node); ok && m.String() == mac.String() {
		reg.Node = "" // an unknown node that names itself after its MAC
	}
	switch n, _, byMAC := c.ByMAC(mac); {
	case reg.Node != "":
		if !byMAC || n.Name != reg.Node {
			return reg, errorf(http.StatusForbidden, "registration: no inventory node %s with MAC %s", reg.Node, mac)
		}
	case byMAC:
		reg.Node = n.Name
	default:
		seen, err := a.macSeen(mac)
		if err != nil {
			return reg, err
		}
		if !seen {
			return reg, errorf(http.StatusForbidden, "registration: MAC %s is neither in the inventory nor seen booting", mac)
		}
		reg.Node = discoveryName(mac)
	}
	if err := a.checkNodeSource(r, reg.Node); err != nil {
		return reg, err
	}
	return reg, nil
}

// postOSToken serves POST /api/v1/boot/os-token (nodeauth.OSToken, signed
// with the boot key): the hash of the token the booted OS will report
// events with.
func (a *API) postOSToken(w http.ResponseWriter, r *http.Request) error {
	var t nodeauth.OSToken
	if err := decodeJSON(w, r, maxRegistration, &t); err != nil {
		return err
	}
	if b, err := hex.DecodeString(t.SHA256); err != nil || len(b) != 32 {
		return errorf(http.StatusBadRequest, "os token: field sha256: want 64 hex digits")
	}
	c, ok := callerOf(r)
	if !ok {
		return errorf(http.StatusForbidden, "os token: node authentication is off in this bootsrv")
	}
	if err := a.cfg.Store.SetOSToken(c.Node, c.Boot, t.SHA256); err != nil {
		return errorf(http.StatusConflict, "%v", err)
	}
	a.log.Info("os token registered", "node", c.Node, "boot", c.Boot)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeBytes decodes a JSON body strictly (unknown fields, trailing data).
func decodeBytes(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errorf(http.StatusBadRequest, "request body: %v", err)
	}
	if dec.More() {
		return errorf(http.StatusBadRequest, "request body: trailing data after the JSON value")
	}
	return nil
}
