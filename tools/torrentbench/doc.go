// Package torrentbench measures how image distribution time grows with the
// number of booting nodes: N BitTorrent peers (each its own client on its
// own 127.0.0.x, downloading to tmpfs as a node does) plus bootsrv's
// seeder, every one capped to the same bandwidth both ways, against plain
// HTTP from one server under that cap at the same N values.
// The benchmark is BenchmarkSwarm (make bench); flags in bench_test.go.
//
// Its table (table.go) gives per run: T(N)/T(1) against the same group's
// N=1 (HTTP against HTTP's own), what the server sent in image copies
// (seeder payload plus bytes the HTTP server wrote, both measured), the
// CPU cores this process kept busy, the cores the whole machine kept busy
// (/proc/stat: other processes count too), and this process's CPU seconds
// per GiB the peers received (cores per GiB/s). Every peer runs on the
// same machine, so a run that missed its ideal time on a saturated CPU is
// named CPU-bound: it measures the machine, not the swarm. A second swarm
// run at a lower cap (-torrentbench.lowcap, image scaled to the same ideal
// T(1)) shows T(N)/T(1) where the CPU is not the limit.
package torrentbench
