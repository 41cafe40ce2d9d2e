// Command bench measures bootsrv against reference servers on this machine
// and prints one table per benchmark (System | rate | ratio):
//
//   - DHCP: perfdhcp (relayed DORA over loopback) against bootsrv and Kea
//     (memfile, persisted), the same subnet and pool, with and without
//     10,000 static reservations. Kea's method: step the rate by 500 until
//     more than 2.5 % of exchanges are lost; the last passing rate counts.
//     Both servers run pinned to CPU 0, perfdhcp (single-threaded) to CPU 1.
//   - HTTP: wrk on random per-node iPXE scripts and manifests of a
//     10,000-node inventory, against bootsrv and against nginx serving the
//     same bytes (fetched from bootsrv) as static files.
//   - Mode switch: trapctl mode set and status over 1,000 and 10,000 nodes,
//     as root on bootsrv's admin socket and with an admin token over TLS
//     (authentication on, as on a real cluster).
//   - Storm: N simulated nodes booting (package tools/storm) while bootsrv
//     is SIGKILLed and restarted; every acknowledged write must survive.
//
// It runs everything inside a network namespace it creates (dtbench-PID),
// so it may bind port 67 and add addresses to lo; it needs root.
//
//	go run ./tools/bench [-suites dhcp,http,mode,storm] [-profile DIR] ...
//
// tools/bench/run.sh builds the binaries and runs it (make bench).
package main
