package api

// PowerRequest is the body of POST /api/v1/power (on, off, cycle, reset)
// and, as query parameters range, parallel and timeout, of GET
// /api/v1/power (status).
type PowerRequest struct {
	Range  string `json:"range"`
	Action string `json:"action"`
	// Parallel bounds how many BMCs bootsrv talks to at once (0: 16).
	Parallel int `json:"parallel,omitempty"`
	// TimeoutMS is the per-node timeout in milliseconds (0: 20 s).
	TimeoutMS int `json:"timeout_ms,omitempty"`
}

// PowerResult is one node's outcome: State "on"/"off" (status, on, off)
// or the action (cycle, reset); Error names what failed on which BMC.
type PowerResult struct {
	Node  string `json:"node"`
	BMC   string `json:"bmc,omitempty"`
	State string `json:"state,omitempty"`
	Error string `json:"error,omitempty"`
}

// ConsoleUpgrade is the Upgrade protocol of POST /api/v1/console/{name}:
// after 101 Switching Protocols the connection is the node's serial
// console (Serial-over-LAN through its BMC), raw bytes both ways.
const ConsoleUpgrade = "dt-console"
