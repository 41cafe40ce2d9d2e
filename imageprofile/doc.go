// Package imageprofile reads OS image profiles (images/profiles/NAME.yaml)
// and resolves a profile's inheritance chain into the one list of
// packages, exclusions, files, postinstall and postscripts an image build
// applies, remembering which profile every entry came from (--blame).
//
// A profile is the xCAT osimage's pkglist, exlist, synclist, postinstall
// and postscripts in one strict YAML file:
//
//	description: compute nodes
//	inherits: [base]            # ordered; a DAG (a cycle is refused, naming the loop)
//	suite: bookworm             # the package source; the nearest profile setting it wins
//	mirror: http://deb.debian.org/debian
//	variant: essential          # mmdebstrap --variant
//	diskful: true               # for mode install: a kernel, its initramfs and grub in the image
//	kernel: linux-image-amd64   # the kernel package of a diskful image (default)
//	packages: [openssh-server, -nano]   # "-NAME" drops an inherited package
//	exclude: [/usr/share/doc/*] # paths or globs removed after install
//	files:
//	  - {src: files/motd, dest: /etc/motd, mode: "0644", owner: root:root}
//	postinstall: [postinstall/10-tune.sh]  # build time, image root as $1, base first
//	postscripts: [postscripts/10-hello.sh] # on the node at boot, in name order
//
// Paths (src, postinstall, postscripts) are relative to the profile's
// folder. Errors name file:line: field.
package imageprofile
