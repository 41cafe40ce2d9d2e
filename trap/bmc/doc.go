// Package bmc configures the node's own BMC in-band, through the kernel's
// OpenIPMI device (/dev/ipmi0, modules ipmi_msghandler, ipmi_si,
// ipmi_devintf): LAN address source, address, netmask and gateway, one
// user's name, password, privilege and enable bit; it reads back the BMC's
// firmware (Get Device ID) and LAN MAC.
//
// The agent stays small: a raw IPMICTL_SEND_COMMAND /
// IPMICTL_RECEIVE_MSG_TRUNC client (kcs_linux.go) instead of a full IPMI
// library. Every command goes through the Device seam; tests give a fake
// that records each request as text and answers from a table.
package bmc
