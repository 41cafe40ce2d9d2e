// Package server wires bootsrv together: it loads the inventory, opens the
// runtime state, and runs the DHCP, TFTP and HTTP services until its
// context ends. Reload swaps in a freshly loaded inventory (SIGHUP) without
// touching runtime state.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/dhcpd"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/metrics"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
	"github.com/disklesstrap/disklesstrap/bootsrv/tftpd"
)

// Config is bootsrv's command line.
type Config struct {
	ConfigPath string // cluster.yaml
	Interface  string // bind DHCP to this interface ("" = all)
	StateDir   string // state.db lives here
	StateDB    string // "" (SQLite in StateDir) or a postgres:// URL shared by replicas
	ReplicaURL string // base URL other replicas fetch images from ("": from HTTPAddr)
	DataDir    string // tftp/, boot/, images/
	HTTPAddr   string // default ":8080"
	DHCPAddr   string // default ":67"; "off" disables DHCP
	TFTPAddr   string // "auto" (default): the networks' server addresses; "off" disables TFTP; else addresses, comma-separated
	Log        *slog.Logger
	// TorrentListen is the image seeder's peer-wire address (":6881");
	// "" or "off" turns peer-to-peer image distribution off. SeedRate caps
	// the seeder and the web seed together, in bytes/s (0: no cap).
	TorrentListen string
	SeedRate      int64
	// SecretsPull lets nodes fetch mode-iscsi secrets from bootsrv's store
	// (StateDir/secrets), over the TLS listener only (see tls.go); off:
	// secrets are pushed over SSH only. cmd/bootsrv turns it on by default.
	SecretsPull bool
	// TLSAddr is the TLS listener (":8443"), serving the same handler as
	// HTTPAddr plus the secret pull route; "" or "off": no TLS (and no
	// secret pulls). TLSCertFile and TLSKeyFile name the certificate and
	// key; both empty: bootsrv's own self-signed pair in StateDir/tls.
	TLSAddr     string
	TLSCertFile string
	TLSKeyFile  string
	// AdminSocket is the Unix socket local admins use (root or bootsrv's
	// own user, by SO_PEERCRED; see adminsock.go); "" or "off": none.
	AdminSocket string
	// MaxImageSize caps image uploads (0: api.DefaultMaxImageSize); see
	// api.Limits for the other per-request limits and docs/hardening.md.
	MaxImageSize int64
	// TFTPMaxTransfers and TFTPMaxPerSource cap TFTP transfers in all and
	// per source address (0: tftpd's defaults).
	TFTPMaxTransfers, TFTPMaxPerSource int
	// Limits, when set, replaces the HTTP limits (tests shorten them).
	Limits *api.Limits
	// Prune bounds unknown MACs' rows and per-node events (zero fields:
	// state's defaults); bootsrv prunes at start, every minute, and early
	// under a flood of unknown MACs.
	Prune state.PruneLimits
	// OnReady, if set, is called once every listener is open, with a
	// status line (cmd/bootsrv tells systemd READY=1).
	OnReady func(status string)
}

// Server is a running bootsrv.
type Server struct {
	cfg      Config
	log      *slog.Logger
	cluster  atomic.Pointer[inventory.Cluster]
	reserved atomic.Pointer[map[netip.Addr]bool]
	store    *state.Store
	leases   *dhcpd.MemLeases
	// invVersion is the shared inventory version in force (replicainv.go).
	invVersion atomic.Int64
	invCluster atomic.Pointer[inventory.Cluster] // the cluster of that version
	images     *images.Registry                  // replicas: the registry shared with the API (replicaimages.go)
	metrics    *metrics.Metrics
	httpPort   int
}

// New loads the inventory and opens the state; nothing listens yet.
func New(cfg Config) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = ":8080"
	}
	if cfg.DHCPAddr == "" {
		cfg.DHCPAddr = ":67"
	}
	if cfg.TFTPAddr == "" {
		cfg.TFTPAddr = TFTPAuto
	}
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("--http %q: %w", cfg.HTTPAddr, err)
	}
	s := &Server{cfg: cfg, log: cfg.Log}
	if s.httpPort, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("--http %q: port: %w", cfg.HTTPAddr, err)
	}
	c, err := s.loadInventory()
	if err != nil {
		return nil, err
	}
	s.setCluster(c)
	if s.store, err = state.OpenDB(cfg.StateDB, cfg.StateDir); err != nil {
		return nil, err
	}
	if err := s.initMetrics(); err != nil {
		s.store.Close()
		return nil, err
	}
	s.leases = &dhcpd.MemLeases{OnChange: s.queueLease}
	if s.store.Shared() {
		s.log.Info("state shared by replicas", "db", s.store.Path())
		if err := s.joinInventory(); err != nil {
			s.store.Close()
			return nil, err
		}
		return s, nil // leases: sharedLeases, in the database
	}
	saved, err := s.store.Leases()
	if err != nil {
		s.store.Close()
		return nil, err
	}
	restored := make([]dhcpd.Lease, 0, len(saved))
	for _, l := range saved {
		mac, err := net.ParseMAC(l.MAC)
		if err != nil {
			continue
		}
		restored = append(restored, dhcpd.Lease{MAC: mac, Network: l.Network, Addr: l.IP, Expires: l.Expires})
	}
	s.leases.Restore(restored)
	return s, nil
}

// Cluster is the inventory in force.
func (s *Server) Cluster() *inventory.Cluster { return s.cluster.Load() }

func (s *Server) setCluster(c *inventory.Cluster) {
	res := make(map[netip.Addr]bool)
	for _, n := range c.Nodes() {
		for _, i := range n.Interfaces {
			if i.IP.IsValid() {
				res[i.IP] = true
			}
		}
	}
	s.reserved.Store(&res)
	s.cluster.Store(c)
}

// Reload re-reads the inventory. A bad file is reported and the old
// inventory stays in force. Networks (DHCP subnets and pools) are read at
// start only; a change there needs a restart, and Reload says so.
func (s *Server) Reload() error {
	c, err := s.loadInventory()
	if err != nil {
		return fmt.Errorf("reload %s (keeping the previous inventory): %w", s.cfg.ConfigPath, err)
	}
	if !sameNetworks(s.Cluster().Networks(), c.Networks()) {
		s.log.Warn("reload: networks changed; restart bootsrv for DHCP to use them")
	}
	s.setCluster(c)
	s.log.Info("inventory reloaded", "file", s.cfg.ConfigPath, "nodes", len(c.Nodes()))
	if s.store.Shared() {
		return s.publishInventory() // to the other replicas (replicainv.go)
	}
	return nil
}

func sameNetworks(a, b []*inventory.Network) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if *a[i] != *b[i] {
			return false
		}
	}
	return true
}

// Run serves until ctx ends, then shuts everything down and closes the state.
func (s *Server) Run(ctx context.Context) error {
	defer s.store.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sw, err := s.startSwarm()
	if err != nil {
		// Nodes still boot over http; a busy port must not stop bootsrv.
		s.log.Error("peer-to-peer image distribution off", "err", err)
	}
	if sw != nil {
		defer sw.Seeder.Close()
	}

	sec, err := secrets.Open(filepath.Join(s.cfg.StateDir, "secrets"))
	if err != nil {
		return err
	}
	var tlsSet *tlsSetup
	if s.cfg.tlsOn() {
		if tlsSet, err = s.setupTLS(); err != nil {
			return err
		}
	} else if s.cfg.SecretsPull {
		s.log.Warn("secret pulls need the TLS listener (--tls-listen); nodes get secrets pushed over SSH only")
	}
	apiCfg := api.Config{
		Cluster:       &s.cluster,
		InventoryPath: s.cfg.ConfigPath,
		Store:         s.store,
		DataDir:       s.cfg.DataDir,
		Logger:        s.log,
		Swarm:         sw,
		Secrets:       sec,
		SecretsPull:   s.cfg.SecretsPull,
		AdminSocket:   s.cfg.AdminSocket,
		SocketBaseURL: s.socketBaseURL(),
		Images:        s.openSharedImages(), // nil unless replicas share images (replicaimages.go)
	}
	if tlsSet != nil {
		apiCfg.TLSPort, apiCfg.TLSCert = tlsSet.port, tlsSet.certPEM
	}
	limits := api.Limits{MaxImageSize: s.cfg.MaxImageSize}
	if s.cfg.Limits != nil {
		limits = *s.cfg.Limits
	}
	handler := s.requestLog(limits.Handler(s.handler(api.New(apiCfg))))
	httpSrv := &http.Server{
		Addr:    s.cfg.HTTPAddr,
		Handler: handler,
	}
	bound(httpSrv)
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http listen %s: %w", s.cfg.HTTPAddr, err)
	}
	var tlsSrv *http.Server
	var tlsLn net.Listener
	if tlsSet != nil {
		tlsSrv = &http.Server{
			Addr:      s.cfg.TLSAddr,
			Handler:   handler,
			TLSConfig: tlsSet.config,
			// Handshake failures (scanners, a node with a stale pin) are
			// debug lines, not stderr noise.
			ErrorLog: slog.NewLogLogger(s.log.With("svc", "tls").Handler(), slog.LevelDebug),
		}
		bound(tlsSrv)
		if tlsLn, err = net.Listen("tcp", s.cfg.TLSAddr); err != nil {
			ln.Close()
			return fmt.Errorf("tls listen %s: %w", s.cfg.TLSAddr, err)
		}
	}

	var adminSrv *http.Server
	var adminLn net.Listener
	if s.cfg.adminSockOn() {
		if adminSrv, adminLn, err = s.adminServer(handler); err != nil {
			ln.Close()
			if tlsLn != nil {
				tlsLn.Close()
			}
			return err
		}
	}

	var dhcp *dhcpd.Server
	if s.cfg.DHCPAddr != "off" {
		dhcp, err = dhcpd.New(dhcpd.Config{
			Listen:    s.cfg.DHCPAddr,
			Interface: s.cfg.Interface,
			Networks:  s.dhcpNetworks(),
			BootURL: func(n dhcpd.Network) string {
				return "http://" + net.JoinHostPort(n.Server.String(), strconv.Itoa(s.httpPort)) + "/boot.ipxe"
			},
			Reserve:  s.reserve,
			Reserved: func(ip netip.Addr) bool { return (*s.reserved.Load())[ip] },
			Leases:   s.dhcpLeases(),
			Log:      slog.New(nodeNamer{s.log.Handler(), s}).With("svc", "dhcp"),
		})
		if err != nil {
			ln.Close()
			if tlsLn != nil {
				tlsLn.Close()
			}
			if adminLn != nil {
				adminLn.Close()
			}
			return fmt.Errorf("dhcp: %w", err)
		}
		s.registerDHCP(dhcp)
	}

	var wg sync.WaitGroup
	if s.store.Shared() { // replicas: follow the others' mode and inventory changes
		wg.Add(2)
		go func() {
			defer wg.Done()
			s.store.RunRefresher(ctx, time.Second)
		}()
		go func() {
			defer wg.Done()
			s.followInventory(ctx, time.Second)
		}()
		if s.images != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.followImages(ctx, 2*time.Second)
			}()
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.store.RunPruner(ctx, s.cfg.Prune, time.Minute, func(p state.Pruned, err error) {
			switch {
			case err != nil:
				s.log.Error("prune state", "err", err)
			case p != state.Pruned{}:
				s.log.Info("pruned state", "unknown_macs", p.Discovered, "status_rows", p.Status, "events", p.Events)
			}
		})
	}()
	var tftpAddrs []string
	if s.cfg.TFTPAddr != "off" {
		tftpAddrs = s.tftpAddrs(localAddrs())
	}
	errc := make(chan error, 6+len(tftpAddrs))
	run := func(name string, f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	run("http", func() error { return httpSrv.Serve(ln) })
	if tlsSrv != nil {
		run("tls", func() error { return tlsSrv.ServeTLS(tlsLn, "", "") })
	}
	if adminSrv != nil {
		run("admin socket", func() error { return adminSrv.Serve(adminLn) })
	}
	if dhcp != nil {
		run("dhcp", func() error { return dhcp.Serve(ctx) })
	}
	if len(tftpAddrs) > 0 {
		tftp := tftpd.New(filepath.Join(s.cfg.DataDir, "tftp"), s.log.With("svc", "tftp"))
		if s.cfg.TFTPMaxTransfers > 0 {
			tftp.MaxTransfers = s.cfg.TFTPMaxTransfers
		}
		if s.cfg.TFTPMaxPerSource > 0 {
			tftp.MaxPerSource = s.cfg.TFTPMaxPerSource
		}
		for _, addr := range tftpAddrs {
			run("tftp", func() error { return tftp.Serve(ctx, addr) })
		}
	}
	s.log.Info("bootsrv serving", "http", s.cfg.HTTPAddr, "tls", s.cfg.TLSAddr, "admin_socket", s.cfg.AdminSocket, "dhcp", s.cfg.DHCPAddr, "tftp", strings.Join(tftpAddrs, ","),
		"interface", s.cfg.Interface, "nodes", len(s.Cluster().Nodes()), "state", s.store.Path(),
		"secrets_pull", s.cfg.SecretsPull && tlsSet != nil)
	if s.cfg.OnReady != nil {
		s.cfg.OnReady(fmt.Sprintf("serving %d nodes", len(s.Cluster().Nodes())))
	}

	<-ctx.Done()
	shutCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	httpSrv.Shutdown(shutCtx)
	if tlsSrv != nil {
		tlsSrv.Shutdown(shutCtx)
	}
	if adminSrv != nil {
		adminSrv.Shutdown(shutCtx) // closes the listener, which unlinks the socket
	}
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// socketBaseURL is the public base URL named in answers on the admin
// socket: the first network's server address, else loopback.
func (s *Server) socketBaseURL() string {
	host := "127.0.0.1"
	for _, n := range s.Cluster().Networks() {
		if n.Server.IsValid() {
			host = n.Server.String()
			break
		}
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(s.httpPort))
}

// bound sets the connection-level limits of an http.Server. Request
// bodies and answers are bounded per request by api.Limits (which lets
// image and boot file transfers run as long as they move), so ReadTimeout
// and WriteTimeout stay zero on purpose.
func bound(srv *http.Server) {
	srv.ReadHeaderTimeout = 10 * time.Second
	srv.IdleTimeout = 2 * time.Minute
	srv.MaxHeaderBytes = 64 << 10
}

func (s *Server) dhcpNetworks() []dhcpd.Network {
	var out []dhcpd.Network
	for _, n := range s.Cluster().Networks() {
		out = append(out, dhcpd.Network{
			Name: n.Name, Interface: n.Interface, Subnet: n.Subnet, Server: n.Server, Gateway: n.Gateway,
			DynamicStart: n.DynamicStart, DynamicEnd: n.DynamicEnd, Lease: n.Lease,
		})
	}
	return out
}

func (s *Server) reserve(mac net.HardwareAddr) (netip.Addr, string, bool) {
	_, iface, ok := s.Cluster().ByMAC(mac)
	if !ok || !iface.IP.IsValid() {
		return netip.Addr{}, "", false
	}
	return iface.IP, iface.Network, true
}
