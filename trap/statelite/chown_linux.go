package statelite

import (
	"io/fs"
	"os"
	"syscall"
)

// chown gives p the owner of fi, best effort (a non-root test cannot).
func chown(p string, fi fs.FileInfo) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		os.Lchown(p, int(st.Uid), int(st.Gid))
	}
}
