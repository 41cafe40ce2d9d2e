// Package tlscert keeps bootsrv's TLS identity: a self-signed ECDSA P-256
// certificate made on first use and reused after, so that the copy pinned
// in trap initramfs images (/etc/trap/bootsrv.pem) stays valid.
//
// Layout of the directory (bootsrv uses STATE/tls):
//
//	dir/        0700
//	  cert.pem  0644  the certificate (public; nodes pin it)
//	  key.pem   0600  its private key (PKCS #8)
//
// Ensure never replaces an existing certificate: a new one would break
// every image that pins the old one. To rotate, remove the directory,
// restart bootsrv and rebuild the images (trapctl initrd build).
package tlscert
