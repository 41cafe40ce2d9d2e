package api

import "time"

// Discovered is an unknown MAC that booted the discovery trap (GET
// /api/v1/discovery): its hardware report, and its name once discovery
// named it.
type Discovered struct {
	MAC       string    `json:"mac"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Node is the discovery name it speaks under ("mac-525400000001"),
	// or, once named, its inventory name.
	Node    string `json:"node"`
	Named   bool   `json:"named,omitempty"`
	Address string `json:"address,omitempty"` // its lease, or its reserved address once named
	Phase   string `json:"phase,omitempty"`
	// From the hardware report (empty until the report arrived).
	Serial   string   `json:"serial,omitempty"`
	UUID     string   `json:"uuid,omitempty"`
	Vendor   string   `json:"vendor,omitempty"`
	Product  string   `json:"product,omitempty"`
	CPUs     int      `json:"cpus,omitempty"`
	MemoryKB int64    `json:"memory_kb,omitempty"`
	MACs     []string `json:"macs,omitempty"`
	Disks    []string `json:"disks,omitempty"` // "vda 8G"
	// BMCMAC is the BMC's MAC when the report carries one (IPMI set-up).
	BMCMAC string `json:"bmc_mac,omitempty"`
	// SerialMatch names the pool node whose serial the report carries.
	SerialMatch string `json:"serial_match,omitempty"`
}

// DiscoverAssign names a discovered MAC (POST /api/v1/discovery/assign):
// Name, or Next, a range whose first free name in a discovery pool of the
// inventory is taken.
type DiscoverAssign struct {
	MAC  string `json:"mac"`
	Name string `json:"name,omitempty"`
	Next string `json:"next,omitempty"`
}

// DiscoverAssigned is the answer: the node entry written to the inventory.
type DiscoverAssigned struct {
	MAC     string `json:"mac"`
	Node    string `json:"node"`
	Address string `json:"address"`
	Network string `json:"network"`
	By      string `json:"by"` // "name", "next" or "serial"
}
