package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/power"
)

// console serves POST /api/v1/console/{name} (audited) with "Upgrade: dt-console"
// (api.ConsoleUpgrade): after 101 Switching Protocols the connection
// carries the node's serial console both ways, through its BMC's
// Serial-over-LAN; bootsrv holds the BMC session (the password stays
// here). A failure after the switch is written into the stream as one
// "[console: ...]" line. Closing the connection ends the SOL session.
func (a *API) console(w http.ResponseWriter, r *http.Request) error {
	auditf(r, "console %s", r.PathValue("name"))
	if !strings.EqualFold(r.Header.Get("Upgrade"), api.ConsoleUpgrade) {
		return errorf(http.StatusBadRequest, "want header Upgrade: %s", api.ConsoleUpgrade)
	}
	c, err := a.cluster()
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	n, ok := c.Node(name)
	if !ok {
		return errorf(http.StatusNotFound, "node %s: not in the inventory", name)
	}
	t := a.powerTarget(n)
	switch {
	case t.Problem != "":
		return errorf(http.StatusConflict, "node %s: %s", name, t.Problem)
	case !t.Addr.IsValid():
		return errorf(http.StatusConflict, "node %s: %v", name, power.ErrNoBMC)
	}
	var con power.Console = power.IPMI{}
	if a.cfg.Power != nil {
		if con, ok = a.cfg.Power.(power.Console); !ok {
			return errorf(http.StatusNotImplemented, "node %s: this BMC seam has no console", name)
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return fmt.Errorf("console %s: %w", name, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: %s\r\n\r\n", api.ConsoleUpgrade); err != nil {
		return nil
	}
	who, _ := AdminOf(r.Context())
	a.log.Info("console attached", "node", name, "bmc", t.Addr, "who", who.Who)
	start := time.Now()
	err = con.Console(context.WithoutCancel(r.Context()), t, brw.Reader, conn)
	if err != nil {
		fmt.Fprintf(conn, "\r\n[console: %v]\r\n", err)
	}
	a.log.Info("console detached", "node", name, "bmc", t.Addr, "after", time.Since(start).Round(time.Second), "err", err)
	return nil
}
