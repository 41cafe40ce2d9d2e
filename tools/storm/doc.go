// Package storm simulates a boot storm against a real bootsrv process and
// kills it while the storm runs.
//
// Every simulated node does what a network boot does, each step retried
// with backoff until it succeeds: a relayed DHCP DORA (the package plays the
// relay agent on 127.0.0.2:67 and checks the node gets its reserved
// address), GET /ipxe?mac= (its iPXE script), GET /manifest/{node}, the
// registration of a boot key from the node's own loopback address and a
// privileged port (nodeauth.go), and POST /api/v1/events signed with it. Meanwhile an admin client switches boot modes over
// node ranges (each switch retried until acknowledged), and a supervisor
// SIGKILLs bootsrv at random intervals and restarts it at once.
//
// Afterwards Run checks that every node completed, that every
// acknowledged event is in the state database (through the API and in the
// SQLite file itself), and that every node's mode is the last acknowledged
// switch. Run needs a network namespace of its own where it may bind port
// 67 (see the test and tools/bench for how they enter one).
package storm
