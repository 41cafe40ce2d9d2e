package api

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// DefaultInitiatorPrefix is the initiator IQN prefix used when a node has
// no iscsi_initiator attribute: the node's IQN is prefix + node name.
const DefaultInitiatorPrefix = "iqn.2026-11.disklesstrap.local:"

// iscsiFields fills m.ISCSI for node n when the node's plan mode (Mode, or
// Continue for a trapped node) is iscsi, from the iscsi attribute group:
//
//   - iscsi_portals, iscsi_target (required), iscsi_lun, iscsi_multipath
//     ("yes"/"no"), iscsi_volume_groups;
//   - iscsi_initiator, with "{node}" replaced by the node name (default
//     DefaultInitiatorPrefix + node name);
//   - luks_key, chap_user/chap_secret, mutual_chap_user/mutual_chap_secret,
//     discovery_chap_user/discovery_chap_secret and
//     discovery_mutual_chap_user/discovery_mutual_chap_secret (sendtargets
//     discovery): secrets by name only (manifest.SecretRef). The manifest never carries
//     a secret value; the agent gets values pushed over SSH (trapctl secret
//     push) or from bootsrv's secret endpoint.
//
// A node with none of the iscsi_* attributes gets no iscsi section and no
// problem: its configuration may be pushed over SSH into the agent (`trap
// iscsi config`), and the agent says so if none was. A missing or
// inconsistent attribute of a partly configured node leaves m.ISCSI nil and
// is stated in m.Problems, naming the attribute and the node.
func (a *API) iscsiFields(m *manifest.Manifest, n *inventory.Node) {
	if m.Mode != manifest.ModeISCSI && m.Continue != manifest.ModeISCSI {
		return
	}
	at := &n.Attrs
	if at.ISCSITarget == nil && at.ISCSIPortals == nil && at.ISCSIInitiator == nil {
		return
	}
	c, err := iscsiFromAttrs(n.Name, &n.Attrs)
	if err != nil {
		m.Problems = append(m.Problems, fmt.Sprintf("mode iscsi: node %s: %v", n.Name, err))
		return
	}
	m.ISCSI = c
}

// iscsiFromAttrs builds and validates node's manifest.ISCSI.
func iscsiFromAttrs(node string, at *inventory.Attrs) (*manifest.ISCSI, error) {
	c := &manifest.ISCSI{
		Target:        inventory.Val(at.ISCSITarget),
		Portals:       append([]string{}, inventory.Val(at.ISCSIPortals)...),
		InitiatorName: strings.ReplaceAll(inventory.Val(at.ISCSIInitiator), "{node}", node),
		Multipath:     inventory.Val(at.ISCSIMultipath) == "yes",
		VolumeGroups:  inventory.Val(at.ISCSIVolumeGroups),
	}
	switch {
	case c.Target == "":
		return nil, fmt.Errorf("iscsi_target is not set (trapctl node set %s iscsi_target=iqn.…)", node)
	case len(c.Portals) == 0:
		return nil, fmt.Errorf("iscsi_portals is not set (trapctl node set %s iscsi_portals=ADDR:PORT,…)", node)
	}
	if c.InitiatorName == "" {
		c.InitiatorName = DefaultInitiatorPrefix + node
	}
	if s := inventory.Val(at.ISCSILUN); s != "" {
		lun, err := strconv.Atoi(s)
		if err != nil {
			return nil, fmt.Errorf("iscsi_lun %q: %w", s, err)
		}
		c.LUN = lun
	}
	if k := inventory.Val(at.LUKSKey); k != "" {
		c.LUKS = &manifest.LUKS{Key: manifest.SecretRef{Name: k}}
	}
	var err error
	if c.CHAP, c.MutualCHAP, err = chapAccounts("", at.CHAPUser, at.CHAPSecret, at.MutualCHAPUser, at.MutualCHAPSecret); err != nil {
		return nil, err
	}
	if c.DiscoveryCHAP, c.DiscoveryMutualCHAP, err = chapAccounts("discovery_", at.DiscoveryCHAPUser, at.DiscoveryCHAPSecret,
		at.DiscoveryMutualCHAPUser, at.DiscoveryMutualCHAPSecret); err != nil {
		return nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// chapAccounts reads the CHAP account and the mutual one of the attribute
// family PREFIXchap_* / PREFIXmutual_chap_* (prefix "" or "discovery_").
func chapAccounts(prefix string, user, secret, mutualUser, mutualSecret *string) (*manifest.CHAP, *manifest.CHAP, error) {
	a, err := chapAccount(prefix+"chap", user, secret)
	if err != nil {
		return nil, nil, err
	}
	m, err := chapAccount(prefix+"mutual_chap", mutualUser, mutualSecret)
	if err != nil {
		return nil, nil, err
	}
	if m != nil && a == nil {
		return nil, nil, fmt.Errorf("%smutual_chap_user needs %schap_user and %schap_secret (mutual CHAP is on top of CHAP)", prefix, prefix, prefix)
	}
	return a, m, nil
}

// chapAccount pairs PREFIX_user and PREFIX_secret: both or neither.
func chapAccount(prefix string, user, secret *string) (*manifest.CHAP, error) {
	u, s := inventory.Val(user), inventory.Val(secret)
	switch {
	case u == "" && s == "":
		return nil, nil
	case u == "":
		return nil, fmt.Errorf("%s_secret is set but %s_user is not", prefix, prefix)
	case s == "":
		return nil, fmt.Errorf("%s_user is set but %s_secret (the secret's name) is not", prefix, prefix)
	}
	return &manifest.CHAP{User: u, Secret: manifest.SecretRef{Name: s}}, nil
}
