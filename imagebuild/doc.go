// Package imagebuild builds an OS image from a resolved profile
// (package imageprofile): mmdebstrap makes the Debian root (with a local
// package cache), then the chain is applied in order (synced files,
// postinstall scripts base first, the postscripts and the first-boot
// units, exclusions), per-node and random state is removed (machine-id
// emptied, no SSH host keys, no random seeds, no logs, no package lists),
// and imagepack packs a squashfs with sorted entries and every time set to
// SOURCE_DATE_EPOCH: two builds from the same inputs and the same mirror
// state give the same sha256.
//
// Every step is a value (Step) that prints what it does; commands go
// through a Runner so tests record them as text.
package imagebuild
