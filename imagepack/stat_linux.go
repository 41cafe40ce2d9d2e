package imagepack

import (
	"io/fs"
	"syscall"
)

type statInfo struct {
	dev, ino, nlink uint64
	uid, gid        uint32
}

func sysStat(fi fs.FileInfo) (statInfo, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return statInfo{}, false
	}
	return statInfo{dev: st.Dev, ino: st.Ino, nlink: st.Nlink, uid: st.Uid, gid: st.Gid}, true
}
