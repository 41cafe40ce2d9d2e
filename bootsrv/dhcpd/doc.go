// Package dhcpd is bootsrv's DHCPv4 server for network booting.
//
// It is split in two halves:
//
//   - Decide, the decision table: given one request, the network it belongs
//     to, the static reservations and the dynamic pool, it returns the reply
//     (or none) and a Decision saying why. It never touches a socket and is
//     table-tested.
//   - Server, the UDP side: it reads packets concurrently on a fixed number of
//     workers, learns the arrival interface (IP_PKTINFO) to pick the network
//     of direct clients (the network tied to that interface, ties.go; none:
//     no answer, so an uplink gets silence), and sends the reply to the right place: the relay
//     (giaddr:67), the renewing client (ciaddr:68) or the broadcast address
//     on the arrival interface. It never blocks on anything per packet (no
//     ping before offering).
//
// The Server reads ordinary requests straight from the packet bytes and
// writes the reply into a reused buffer (wire.go), byte for byte what
// Reply and dhcpv4's encoder produce; odd packets (malformed, BOOTP,
// repeated options, ...) go through dhcpv4.FromBytes, Decide and Reply.
//
// Boot files follow the client: option 93 architecture 0 (BIOS) gets
// undionly.kpxe, 7 and 9 (x86-64 UEFI) get snponly.efi, other architectures
// only get an address; a client that says it is iPXE (option 77 "iPXE" or
// option 175 present) gets the HTTP URL of the boot script instead.
//
// The package does not know the inventory: the caller supplies reservations
// through Env.Reserve and Env.Reserved, and the dynamic pool through the
// Leases interface (MemLeases is the in-memory implementation, with an
// OnChange hook for persistence).
package dhcpd
