// Package swarm is bootsrv's side of peer-to-peer image distribution
// (Luna's scheme): every booting node downloads the OS image over
// BitTorrent and seeds it to the other booting nodes until it leaves the
// initramfs, so the time to boot N nodes stays flat as N grows.
//
// It has four parts:
//
//   - MakeTorrent: a single-file, private .torrent for an image file, with
//     bootsrv's tracker as announce URL and the image's HTTP URL as web seed
//     (BEP 19 url-list).
//   - Tracker: a private HTTP tracker (BEP 3, compact peer lists, BEP 23)
//     that only admits peers whose source address an Allow callback accepts,
//     with an in-memory peer store that expires silent peers, and per-swarm
//     counters for `trapctl image swarm NAME`.
//   - Seeder: a BitTorrent client that seeds every registered image from
//     its file in place (no copy), with an upload cap. It super-seeds
//     (superseed.go, after BEP 16): each peer is told of a few pieces at a
//     time, those sent least often, so peers booting together fetch
//     different pieces from it and trade the rest; the seeder then sends
//     the image about once however many peers boot.
//   - WebSeed: an http.Handler serving one image file with Range support,
//     optionally rate-limited; the fallback when no peer has a piece.
package swarm
