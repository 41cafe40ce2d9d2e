// Package inventory loads, resolves and edits the cluster inventory
// (cluster.yaml, see docs/examples/cluster.yaml): networks, defaults,
// groups with ordered inheritance, and node entries whose names may be
// ranges (package noderange) with per-node interface templates.
//
// Decoding is strict: unknown fields, wrong types, invalid values and
// conflicts (duplicate nodes, MACs or IPs, unknown groups or networks,
// addresses outside their subnet or inside a dynamic pool) are reported as
// "FILE:LINE: FIELD: message", up to ten at a time, and nothing partial is
// returned.
//
// Attribute precedence (first wins): the node entry, then its groups in the
// order listed, each group followed depth-first by the groups it inherits
// (each group once), then defaults. Every resolved attribute carries its
// source and file:line (Node.Blame) for `trapctl node show --blame`.
//
// A Cluster is immutable once returned; edits (AddNode, SetNodes,
// DeleteNodes) rewrite the file atomically and return a new Cluster.
package inventory
