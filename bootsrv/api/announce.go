package api

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/disklesstrap/disklesstrap/nodeauth"
)

// trackerAuth ties GET /announce to the node (package nodeauth): a node's
// announce carries dt_node, dt_boot and dt_key (the announce key the agent
// handed its torrent helper), which must verify against the node's
// current boot key, from the node's address. Announces without them are
// admitted only from bootsrv itself (loopback or a network's server
// address: its seeder). The tracker's own address check (swarm.Tracker
// Allow) runs after this one. Refusals are BitTorrent failure answers
// and warnings in the log.
func (a *API) trackerAuth(next http.Handler) http.Handler {
	if a.cfg.NodeAuthOff {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := a.checkAnnounce(r); err != nil {
			src, _ := sourceAddr(r)
			a.log.Warn("tracker: announce refused", "remote", src, "reason", err)
			reason := err.Error()
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "d14:failure reason%d:%se", len(reason), reason)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a *API) checkAnnounce(r *http.Request) error {
	q := r.URL.Query()
	node := q.Get(nodeauth.AnnounceNodeParam)
	src, _ := sourceAddr(r)
	if node == "" {
		if src.IsLoopback() || a.isServerAddr(src) {
			return nil
		}
		return fmt.Errorf("announce from %s without a node's announce key", src)
	}
	bk, ok := a.cfg.Store.BootKeyOf(node)
	if !ok || bk.Boot != q.Get(nodeauth.AnnounceBootParam) ||
		!nodeauth.VerifyAnnounce(bk.Key, node, bk.Boot, q.Get(nodeauth.AnnounceKeyParam)) {
		return fmt.Errorf("announce key of node %s: not valid for the node's current boot", node)
	}
	return a.checkNodeSource(r, node)
}

// isServerAddr reports whether ip is a server address of an inventory
// network (bootsrv's own).
func (a *API) isServerAddr(ip netip.Addr) bool {
	c, err := a.cluster()
	if err != nil {
		return false
	}
	for _, n := range c.Networks() {
		if n.Server.IsValid() && n.Server == ip {
			return true
		}
	}
	return false
}
