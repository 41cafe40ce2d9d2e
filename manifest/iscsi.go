package manifest

import (
	"fmt"
	"net/netip"
	"strings"
)

// SecretRef names a secret the agent fetches separately from the
// manifest: GET SecretServer + SecretPath(node, Name), over TLS. The manifest body never
// carries secret values (it is logged, cached and served to anyone who can
// reach bootsrv's manifest URL); see docs/threat-model.md.
type SecretRef struct {
	Name string `json:"name"`
}

// SecretPath is the URL path of a node's secret.
func SecretPath(node, name string) string {
	return "/api/v1/secrets/" + node + "/" + name
}

// CHAP is one CHAP account: the user name in the clear, the secret by
// reference.
type CHAP struct {
	User   string    `json:"user"`
	Secret SecretRef `json:"secret"`
}

// ISCSI is mode iscsi's storage description (Ocean's diskless root):
// log in to Target on every portal, build a dm-multipath map over the
// paths (or use the single path), open LUKS on it with the key fetched
// from Key, map the partitions, activate the LVM volume groups read-only,
// and mount Mounts read-only as the lower layers of the overlays.
type ISCSI struct {
	// InitiatorName is this node's IQN (the target's ACL lists it).
	InitiatorName string `json:"initiator_name"`
	// Target is the target IQN.
	Target string `json:"target"`
	// Portals are "ADDR:PORT" (port default 3260); one session per portal.
	Portals []string `json:"portals"`
	// TPGT is the target portal group tag (default 1).
	TPGT int `json:"tpgt,omitempty"`
	// LUN is the disk's LUN (default 1; tgt's LUN 0 is its controller).
	LUN int `json:"lun,omitempty"`
	// CHAP authenticates the node to the target; MutualCHAP the target to
	// the node (needs CHAP).
	CHAP       *CHAP `json:"chap,omitempty"`
	MutualCHAP *CHAP `json:"mutual_chap,omitempty"`
	// DiscoveryCHAP authenticates the node's sendtargets discovery to the
	// portals; DiscoveryMutualCHAP the portals to the node (needs
	// DiscoveryCHAP). The seed's discovery.sendtargets.auth.* settings.
	DiscoveryCHAP       *CHAP `json:"discovery_chap,omitempty"`
	DiscoveryMutualCHAP *CHAP `json:"discovery_mutual_chap,omitempty"`
	// Settings override iscsid.conf node settings ("node.session.
	// timeo.replacement_timeout": "15"); defaults: ISCSISessionDefaults.
	Settings map[string]string `json:"settings,omitempty"`
	// Multipath builds a dm-multipath map even with one portal; with
	// several portals it is always on.
	Multipath bool `json:"multipath,omitempty"`
	// LUKS, when set, opens the (multipath) disk as a LUKS volume.
	LUKS *LUKS `json:"luks,omitempty"`
	// VolumeGroups are activated (read-only) after the partitions are mapped.
	VolumeGroups []string `json:"volume_groups,omitempty"`
	// Mounts are the read-only lower layers, mounted at /run/dt/lower+Path.
	// Default: partition 1 at "/" and system/var at "/var" (the Ocean layout).
	Mounts []ISCSIMount `json:"mounts,omitempty"`
}

// LUKS says how to open the encrypted disk.
type LUKS struct {
	// Key is the passphrase (the Ocean recipe's key file contents).
	Key SecretRef `json:"key"`
	// Name is the device-mapper name (default "luks_root").
	Name string `json:"name,omitempty"`
}

// ISCSIMount is one lower layer: Device is "part:N" (partition N of the
// opened disk) or "lv:VG/LV".
type ISCSIMount struct {
	Device string `json:"device"`
	Path   string `json:"path"`
	FS     string `json:"fs,omitempty"` // default: auto (ext4, xfs)
}

// ISCSISessionDefaults are the Ocean recipe's iscsid.conf node settings
// for multipath (short replacement_timeout so dm-multipath fails over).
var ISCSISessionDefaults = map[string]string{
	"node.session.timeo.replacement_timeout":      "15",
	"node.conn[0].timeo.login_timeout":            "15",
	"node.conn[0].timeo.logout_timeout":           "15",
	"node.conn[0].timeo.noop_out_interval":        "5",
	"node.conn[0].timeo.noop_out_timeout":         "5",
	"node.session.err_timeo.abort_timeout":        "15",
	"node.session.err_timeo.lu_reset_timeout":     "30",
	"node.session.err_timeo.tgt_reset_timeout":    "30",
	"node.session.initial_login_retry_max":        "8",
	"node.session.cmds_max":                       "128",
	"node.session.queue_depth":                    "32",
	"node.session.xmit_thread_priority":           "-20",
	"node.session.iscsi.InitialR2T":               "No",
	"node.session.iscsi.ImmediateData":            "Yes",
	"node.session.iscsi.FirstBurstLength":         "262144",
	"node.session.iscsi.MaxBurstLength":           "16776192",
	"node.conn[0].iscsi.MaxRecvDataSegmentLength": "262144",
	"node.conn[0].iscsi.MaxXmitDataSegmentLength": "0",
	"node.conn[0].iscsi.HeaderDigest":             "None",
	"node.session.nr_sessions":                    "1",
	"node.session.iscsi.FastAbort":                "Yes",
	"node.session.scan":                           "auto",
}

// ISCSISingleSessionOverrides are the recipe's changes without multipath:
// a long replacement_timeout (ride out outages) and no NOP-outs.
var ISCSISingleSessionOverrides = map[string]string{
	"node.session.timeo.replacement_timeout": "600",
	"node.conn[0].timeo.noop_out_interval":   "0",
	"node.conn[0].timeo.noop_out_timeout":    "0",
}

// Validate checks an ISCSI description (names, portals, CHAP pairing,
// mounts).
func (c *ISCSI) Validate() error {
	switch {
	case !strings.HasPrefix(c.InitiatorName, "iqn.") && !strings.HasPrefix(c.InitiatorName, "eui."):
		return fmt.Errorf("iscsi: initiator_name %q: want iqn.… or eui.…", c.InitiatorName)
	case !strings.HasPrefix(c.Target, "iqn.") && !strings.HasPrefix(c.Target, "eui."):
		return fmt.Errorf("iscsi: target %q: want iqn.… or eui.…", c.Target)
	case len(c.Portals) == 0:
		return fmt.Errorf("iscsi: target %s: no portals", c.Target)
	case c.MutualCHAP != nil && c.CHAP == nil:
		return fmt.Errorf("iscsi: mutual_chap needs chap")
	case c.DiscoveryMutualCHAP != nil && c.DiscoveryCHAP == nil:
		return fmt.Errorf("iscsi: discovery_mutual_chap needs discovery_chap")
	}
	for _, n := range []string{c.InitiatorName, c.Target} {
		if strings.ContainsAny(n, " \t\n/=") {
			return fmt.Errorf("iscsi: name %q: contains a space, '/' or '='", n)
		}
	}
	for _, p := range c.Portals {
		if _, err := ParsePortal(p); err != nil {
			return err
		}
	}
	for _, a := range []*CHAP{c.CHAP, c.MutualCHAP, c.DiscoveryCHAP, c.DiscoveryMutualCHAP} {
		if a != nil && (a.User == "" || a.Secret.Name == "" || strings.ContainsAny(a.User, " \n=")) {
			return fmt.Errorf("iscsi: CHAP account %q: want a user name and a secret reference", a.User)
		}
	}
	for k, v := range c.Settings {
		if !strings.HasPrefix(k, "node.") || strings.ContainsAny(k+v, "\n=") || strings.Contains(k, ".auth.") {
			return fmt.Errorf("iscsi: setting %q: want a node.* key without auth (CHAP has its own fields)", k)
		}
	}
	for _, m := range c.Mounts {
		if !strings.HasPrefix(m.Path, "/") {
			return fmt.Errorf("iscsi: mount %q: path %q: want an absolute path", m.Device, m.Path)
		}
		if !strings.HasPrefix(m.Device, "part:") && !strings.HasPrefix(m.Device, "lv:") {
			return fmt.Errorf("iscsi: mount %q: want part:N or lv:VG/LV", m.Device)
		}
	}
	return nil
}

// ParsePortal parses "ADDR[:PORT]" (default port 3260).
func ParsePortal(s string) (netip.AddrPort, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("iscsi: portal %q: want ADDR or ADDR:PORT", s)
	}
	return netip.AddrPortFrom(a, 3260), nil
}
