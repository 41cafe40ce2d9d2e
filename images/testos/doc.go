// Package testos holds the lab's test OS: build.sh makes a tiny busybox
// root folder (from Debian's busybox-static package) whose /sbin/init
// prints boot markers on the console, configures the network from the
// agent's /etc/dt/network.env, reports an os-booted event to bootsrv and
// runs a console shell. The Go tests build it and boot its init in a
// chroot inside private namespaces.
package testos
