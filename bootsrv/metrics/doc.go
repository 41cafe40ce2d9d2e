// Package metrics holds bootsrv's Prometheus collectors and the HTTP
// middleware that counts requests, served together at GET /metrics.
//
// The families (all prefixed bootsrv_):
//
//	dhcp_received_total{type}            parsed DHCP requests by message type
//	dhcp_outcomes_total{outcome}         decisions: offer, ack, nak, inform, release, decline, ignore
//	dhcp_malformed_total                 packets that did not parse
//	dhcp_errors_total                    lease store, read and send failures
//	http_requests_total{route,code}      route = the ServeMux pattern ("GET /manifest/{node}")
//	http_request_duration_seconds{route}
//	nodes{phase}                         nodes by the phase of their last event ("none": never heard of)
//	state_op_duration_seconds{op,result} state store: op "commit" per group commit (one fsync),
//	                                     op "write" per synchronous write as its caller waits
//	state_queued_writes_lost_total       queued writes (boot counters, own events, leases) a failed commit lost
//
// The route label is the pattern the mux matched, never the raw path, so a
// flood of distinct URLs cannot grow the number of series; requests no
// pattern matched count as route "unmatched". DHCP counters and node phases
// are read at scrape time from functions the server supplies, so the hot
// paths pay nothing for them.
package metrics
