// Package torrent is the agent's image downloader: it fetches an OS image
// over BitTorrent from bootsrv's seeder and the other booting nodes, falls
// back to the torrent's web seed (bootsrv's HTTP image URL) when no peer
// delivers, checks every piece hash (and the image's SHA-256 when given),
// and keeps seeding the image to the other nodes until the agent calls
// Result.Stop right before switch_root (Luna's rule: a node seeds only
// while it is in the initramfs).
//
// Peer connections are TCP only; DHT, PEX, local peer discovery, UPnP and
// NAT-PMP are off: the swarm is the nodes bootsrv's private tracker lists.
package torrent
