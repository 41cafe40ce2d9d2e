package server

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/adminsock"
	"github.com/disklesstrap/disklesstrap/bootsrv/api"
)

// adminSockOn reports whether the admin socket is configured.
func (c *Config) adminSockOn() bool { return c.AdminSocket != "" && c.AdminSocket != "off" }

// adminServer serves handler on the admin socket: every connection's
// context carries its peer's uid (SO_PEERCRED), which the API's admin
// check reads (bootsrv/api/adminauth.go).
func (s *Server) adminServer(handler http.Handler) (*http.Server, net.Listener, error) {
	ln, err := adminsock.Listen(s.cfg.AdminSocket)
	if err != nil {
		return nil, nil, err
	}
	log := s.log.With("svc", "admin-socket")
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			uid, pid, err := adminsock.Peer(c)
			if err != nil {
				// No peer: the request gets no local identity, so admin
				// routes answer 401.
				log.Warn("admin socket: no peer credentials", "err", err)
				return ctx
			}
			return api.WithLocalPeer(ctx, api.LocalPeer{UID: uid, PID: pid})
		},
	}
	return srv, ln, nil
}
