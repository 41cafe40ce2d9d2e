package api

import (
	"net/http"
	"net/netip"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// checkReport checks what an event reports about its node when it
// arrives: a host key (phase ssh-hostkey, Data["key"]) must be one SSH
// public key in authorized_keys form, and an address (Data["address"],
// an address or CIDR) must be the node's own (its reserved inventory
// address, else its lease: nodeAddr). bootsrv keeps both in the node's
// status, and trapctl builds known_hosts from them: a wrong one is
// refused, not stored.
func (a *API) checkReport(c *inventory.Cluster, i int, ev *manifest.Event) error {
	if ev.Phase == manifest.PhaseHostKey {
		key := strings.TrimSpace(ev.Data["key"])
		pk, comment, _, rest, err := ssh.ParseAuthorizedKey([]byte(key))
		if err != nil || len(strings.TrimSpace(string(rest))) != 0 || strings.ContainsAny(comment, "\n\r") {
			return errorf(http.StatusBadRequest, "event %d (ssh-hostkey of %s): field data.key is not one SSH public key", i, ev.Node)
		}
		ev.Data["key"] = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pk)))
	}
	text := strings.TrimSpace(ev.Data["address"])
	if text == "" {
		return nil
	}
	addrText, _, _ := strings.Cut(text, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil {
		return errorf(http.StatusBadRequest, "event %d (%s of %s): field data.address: %q is not an address", i, ev.Phase, ev.Node, text)
	}
	if strings.Contains(text, "/") {
		if _, err := netip.ParsePrefix(text); err != nil {
			return errorf(http.StatusBadRequest, "event %d (%s of %s): field data.address: %q is not an address or CIDR", i, ev.Phase, ev.Node, text)
		}
	}
	want, ok, err := a.nodeAddr(c, ev.Node)
	if err != nil {
		return err
	}
	if !ok || addr.Unmap() != want {
		return errorf(http.StatusForbidden, "event %d (%s of %s): field data.address %s is not the node's address", i, ev.Phase, ev.Node, addr)
	}
	return nil
}
