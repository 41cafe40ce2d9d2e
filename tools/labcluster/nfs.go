package labcluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/lab"
)

// NFSExport is one export of the lab's NFS server.
type NFSExport struct {
	Dir    string // host folder
	Pseudo string // NFSv4 path, e.g. "/lite1"
	RW     bool
}

// NFSServer is Debian's nfs-ganesha (VFS backend, NFSv4 only, no rpcbind,
// no dbus) inside the lab's namespace on the first bridge's address;
// Stop and Start it by PID (statelite's server-down check).
type NFSServer struct {
	c       *Cluster
	conf    string
	Addr    string
	proc    *lab.Proc
	Exports []NFSExport
}

// GaneshaBinary is nfs-ganesha's daemon (make lab-deps installs it).
const GaneshaBinary = "/usr/bin/ganesha.nfsd"

// StartNFS writes the ganesha configuration for exports and starts it.
func (c *Cluster) StartNFS(ctx context.Context, exports []NFSExport) (*NFSServer, error) {
	if _, err := exec.LookPath(GaneshaBinary); err != nil {
		return nil, fmt.Errorf("nfs-ganesha (run make lab-deps): %w", err)
	}
	s := &NFSServer{c: c, conf: filepath.Join(c.Dir, "ganesha.conf"), Addr: c.Lab.BridgeAddr(0).String(), Exports: exports}
	recovery := filepath.Join(c.Dir, "ganesha-recovery")
	if err := os.MkdirAll(recovery, 0o755); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, `NFS_CORE_PARAM { Protocols = 4; NFS_Port = 2049; Bind_addr = %s; Enable_RQUOTA = false; Enable_NLM = false; }
NFSV4 { Graceless = true; Lease_Lifetime = 10; Minor_Versions = 0, 1, 2; RecoveryBackend = fs; RecoveryRoot = %q; }
`, s.Addr, recovery)
	for i, e := range exports {
		access := "RO"
		if e.RW {
			access = "RW"
		}
		fmt.Fprintf(&b, "EXPORT { Export_Id = %d; Path = %q; Pseudo = %q; Access_Type = %s; Squash = No_Root_Squash; Protocols = 4; Transports = TCP; SecType = sys; FSAL { Name = VFS; } }\n",
			i+1, e.Dir, e.Pseudo, access)
	}
	if err := os.WriteFile(s.conf, []byte(b.String()), 0o644); err != nil {
		return nil, err
	}
	return s, s.Start(ctx)
}

// Start starts ganesha and waits until its port answers.
func (s *NFSServer) Start(ctx context.Context) error {
	cmd := s.c.Lab.Exec(context.Background(), GaneshaBinary, "-F", "-f", s.conf,
		"-L", filepath.Join(s.c.Dir, "ganesha.nfsd.log"), "-p", filepath.Join(s.c.Dir, "ganesha.pid"))
	p, err := s.c.Lab.Start("ganesha", cmd)
	if err != nil {
		return err
	}
	s.proc = p
	if err := s.c.Lab.WaitListen(ctx, s.Addr+":2049", 30*time.Second); err != nil {
		log, _ := os.ReadFile(filepath.Join(s.c.Dir, "ganesha.nfsd.log"))
		return fmt.Errorf("nfs-ganesha did not start: %w\n%s", err, tail(string(log), 20))
	}
	return nil
}

// Stop stops ganesha (SIGTERM, then SIGKILL) by its PID.
func (s *NFSServer) Stop() error {
	if s.proc == nil {
		return nil
	}
	err := s.proc.Stop()
	s.proc = nil
	return err
}
