package plan

// Tree is a folder written from outside without ever leaving it: an OS
// image's root before switch_root (/sysroot). Names are paths inside the
// tree ("/etc/hostname"); no ".." and no symlink met on the way, including
// an absolute one the image holds (/etc -> /tmp/x: inside the image it
// means the image's /tmp/x, from the trap it would mean the initramfs's),
// resolves outside the tree: such a name is an error instead.
type Tree interface {
	// MkdirAll creates a folder and its parents (mode 0755).
	MkdirAll(name string) error
	// WriteFile writes a file as Sys.WriteFile does.
	WriteFile(name string, data []byte, mode uint32) error
	// Symlink creates name pointing to target (never followed here).
	Symlink(target, name string) error
	// Remove removes a file, link or empty folder; missing is no error.
	Remove(name string) error
	// Exists reports whether name exists (lstat).
	Exists(name string) bool
	ReadFile(name string) ([]byte, error)
	Close() error
}

// TreeOpener is a Sys that can open a folder as a Tree (hostsys.Sys, with
// os.OpenRoot). Steps that write into an image's root use it.
type TreeOpener interface {
	OpenTree(dir string) (Tree, error)
}
