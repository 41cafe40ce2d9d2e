// Package tftpd is bootsrv's read-only TFTP server for the iPXE binaries
// (undionly.kpxe, snponly.efi) that PXE firmware fetches.
//
// It serves files under one root directory and nothing else: write requests
// are refused, and a name that leaves the root (a ".." element, an absolute
// path outside the root, a symlink pointing out) gets the same "file not
// found" error as a missing file, so clients never learn the server's paths.
// The tsize option (RFC 2349) is answered with the file's size; blksize
// negotiation (RFC 2348) is left to github.com/pin/tftp/v3.
package tftpd
