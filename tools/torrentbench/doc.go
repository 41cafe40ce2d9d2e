// Package torrentbench measures how image distribution time grows with the
// number of booting nodes: N BitTorrent peers (each its own client on its
// own 127.0.0.x) plus bootsrv's seeder, every one capped to the same
// bandwidth both ways, against plain HTTP from one server under that cap.
// The benchmark is BenchmarkSwarm (make bench); flags in bench_test.go.
// Its table gives T(N)/T(1), the seeder's upload in image copies and the
// CPU cores the whole process kept busy: every peer runs on the same
// machine, so near the core count a run measures the CPU, not the swarm.
package torrentbench
