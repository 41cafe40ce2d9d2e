package server

import (
	"context"
	"log/slog"
	"net"
)

// nodeNamer is a slog.Handler that adds node=NAME to records carrying a
// mac= of an inventory node and no node= yet: the DHCP server knows only
// MACs, and an admin greps for node names.
type nodeNamer struct {
	slog.Handler
	s *Server
}

func (h nodeNamer) Handle(ctx context.Context, r slog.Record) error {
	var mac string
	named := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "mac":
			mac = a.Value.String()
		case "node":
			named = true
		}
		return true
	})
	if mac != "" && !named {
		if hw, err := net.ParseMAC(mac); err == nil {
			if n, _, ok := h.s.Cluster().ByMAC(hw); ok {
				r = r.Clone()
				r.AddAttrs(slog.String("node", n.Name))
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h nodeNamer) WithAttrs(as []slog.Attr) slog.Handler {
	return nodeNamer{h.Handler.WithAttrs(as), h.s}
}

func (h nodeNamer) WithGroup(name string) slog.Handler {
	return nodeNamer{h.Handler.WithGroup(name), h.s}
}
