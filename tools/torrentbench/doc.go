// Package torrentbench measures how image distribution time grows with the
// number of booting nodes: N BitTorrent peers (each its own client on its
// own 127.0.0.x) plus bootsrv's seeder, every one capped to the same
// bandwidth both ways, against plain HTTP from one server under that cap.
// The benchmark is BenchmarkSwarm (make bench); flags in bench_test.go.
package torrentbench
