// Package images is bootsrv's OS image registry: the squashfs and tar
// images stateless nodes (mode ramroot) boot, kept under DATA/images/.
//
// Layout, one pair of files per image NAME:
//
//	DATA/images/NAME.squashfs     the image (or NAME.tar, NAME.tar.zst)
//	DATA/images/NAME.json         its Record: name, format, size, sha256,
//	                              created, files count, source note
//	DATA/images/.upload-NAME-*    an upload in progress (removed by Open)
//
// Put streams an upload into a temporary file in the same folder,
// checking the declared SHA-256 and size and the format's magic bytes as
// the bytes arrive, then renames it into place and writes the record
// (also temp file + rename). Nothing is left behind when an upload fails.
// A replaced image gets a new file (rename), never a rewrite in place, so
// a reader or seeder holding the old file keeps consistent bytes.
//
// There is no cache: Get and List read the records from disk on every
// call (a few hundred bytes each, in the page cache), so a record edited
// on disk (the lab's tampering test changes a sha256 by hand) is what the
// next manifest carries.
package images
