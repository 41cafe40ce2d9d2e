package api

import (
	"net/http"
	"net/netip"
	"sort"
	"strconv"

	"golang.org/x/time/rate"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// swarmEvents is how many recent events of a node are searched for its
// last progress event of an image.
const swarmEvents = 200

// imageSwarm serves GET /api/v1/images/{name}/swarm: bootsrv's seeder and
// every node in the image's swarm (the nodes whose image attribute names
// it, and whoever the tracker lists), each with its last reported
// progress for the image.
func (a *API) imageSwarm(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if a.cfg.Swarm == nil {
		return errorf(http.StatusNotFound, "image %s: bootsrv does not seed images (peer-to-peer distribution is off)", name)
	}
	reg, err := a.registry()
	if err != nil {
		return err
	}
	if _, err := reg.Get(name); err != nil {
		return imageError(err)
	}
	im, ok := a.swarmImage(name)
	if !ok {
		return errorf(http.StatusServiceUnavailable, "image %s: not seeded yet (bootsrv is still hashing it, or could not: see its log)", name)
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	sw := a.cfg.Swarm
	out := api.ImageSwarm{
		Image: name, InfoHash: im.ih.HexString(), Size: im.info.TotalLength(),
		PieceLength: im.info.PieceLength, Pieces: im.info.NumPieces(),
	}
	seederAddr := sw.Seeder.Addr()
	out.Seeder.Addr = seederAddr.String()
	if !seederAddr.Addr().IsValid() { // listening on every address
		out.Seeder.Addr = ":" + strconv.Itoa(int(seederAddr.Port()))
	}
	out.Seeder.WebSeed = im.webSeed.Load()
	if sw.Limiter != nil && sw.Limiter.Limit() != rate.Inf {
		out.Seeder.UploadLimit = int64(sw.Limiter.Limit())
	}
	for _, st := range sw.Seeder.Stats() {
		if st.InfoHash == out.InfoHash {
			out.Seeder.Running, out.Seeder.Peers, out.Seeder.Uploaded = st.Running, st.Peers, st.Uploaded
		}
	}

	byIP := map[netip.Addr]string{}
	for _, n := range c.Nodes() {
		for _, i := range n.Interfaces {
			if i.IP.IsValid() {
				byIP[i.IP] = n.Name
			}
		}
	}
	rows := map[string]*api.SwarmNode{} // by node name, or address for strangers
	for _, n := range usedBy(c)[name] {
		rows[n] = &api.SwarmNode{Node: n}
	}
	if st, ok := sw.Tracker.Stats(im.ih); ok {
		out.Seeder.Completed = st.Completed
		for _, p := range st.Peers {
			node, known := byIP[p.Addr.Addr()]
			if !known && p.Addr.Port() == seederAddr.Port() && p.Left == 0 {
				continue // bootsrv's own seeder
			}
			key := node
			if !known {
				key = p.Addr.String()
			}
			row := rows[key]
			if row == nil {
				row = &api.SwarmNode{Node: node}
				rows[key] = row
			}
			row.Address, row.Tracker, row.LastSeen = p.Addr.String(), true, p.LastSeen
			row.State, row.Downloaded, row.Uploaded = "announced", p.Downloaded, p.Uploaded
			if im.info.TotalLength() > 0 {
				row.Percent = int(100 * (im.info.TotalLength() - p.Left) / im.info.TotalLength())
			}
		}
	}
	if a.cfg.Store != nil {
		for _, row := range rows {
			if row.Node != "" {
				a.lastProgress(row, name)
			}
		}
	}
	out.Nodes = make([]api.SwarmNode, 0, len(rows))
	for _, row := range rows {
		out.Nodes = append(out.Nodes, *row)
	}
	sort.Slice(out.Nodes, func(i, j int) bool {
		x, y := out.Nodes[i], out.Nodes[j]
		if (x.Node == "") != (y.Node == "") {
			return x.Node != ""
		}
		if x.Node != y.Node {
			return x.Node < y.Node
		}
		return x.Address < y.Address
	})
	return writeJSON(w, http.StatusOK, out)
}

// lastProgress fills row from the node's last progress event for image
// (the agent reports every few seconds, the tracker only every interval).
func (a *API) lastProgress(row *api.SwarmNode, image string) {
	evs, err := a.cfg.Store.Events(row.Node, swarmEvents)
	if err != nil {
		a.log.Warn("swarm: events", "node", row.Node, "err", err)
		return
	}
	for i := len(evs) - 1; i >= 0; i-- {
		ev := evs[i]
		if ev.Phase != manifest.PhaseProgress || ev.Data["image"] != image || ev.Data["transport"] != manifest.TransportTorrent {
			continue
		}
		d := ev.Data
		row.State = d["state"]
		row.Percent = atoi(d["percent"])
		row.Downloaded, row.Uploaded = atoi64(d["down"]), atoi64(d["up"])
		row.FromWeb, row.BadPieces = atoi64(d["from_web"]), atoi64(d["bad_pieces"])
		row.Peers = atoi(d["peers"])
		if ev.Time.After(row.LastSeen) {
			row.LastSeen = ev.Time
		}
		return
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func atoi64(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}
