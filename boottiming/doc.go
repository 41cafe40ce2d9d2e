// Package boottiming splits a node's last boot into phases from its events:
// bootsrv's own "ipxe" event (the node's iPXE fetched its script) and the
// agent's events, which carry the kernel uptime at which each boot mark was
// reached (Data keys Key*). `trapctl events NODE --timing` and the boot-time
// bench print the same table, so the slow phase of a boot is visible.
//
// Durations between two agent marks use the guest's uptime clock (exact);
// the phase from the iPXE script to the kernel's start compares bootsrv's
// clock with the node's wall clock and is only as good as their agreement.
package boottiming
