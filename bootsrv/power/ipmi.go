package power

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/bougou/go-ipmi/pkg/client"
	"github.com/bougou/go-ipmi/pkg/command/chassis"
	"github.com/bougou/go-ipmi/pkg/types"
)

// IPMI is the real BMC: one RMCP+ (IPMI v2.0 lanplus) session per call,
// at administrator privilege.
type IPMI struct {
	// Attempt is the per-packet timeout (default 2s); go-ipmi retries a
	// lost packet.
	Attempt time.Duration
}

// Do runs a on t's BMC.
func (p IPMI) Do(ctx context.Context, t Target, a Action) (string, error) {
	c, err := p.session(ctx, t)
	if err != nil {
		return "", err
	}
	defer c.Close(context.WithoutCancel(ctx)) //nolint:errcheck // best-effort session close
	if a == Status {
		return chassisState(ctx, c)
	}
	ctl := map[Action]chassis.ChassisControl{
		On: chassis.ChassisControlPowerUp, Off: chassis.ChassisControlPowerDown,
		Cycle: chassis.ChassisControlPowerCycle, Reset: chassis.ChassisControlHardReset,
	}[a]
	result := string(a)
	if a == Cycle || a == Boot {
		// IPMI refuses power cycle and reset while the chassis is off;
		// an admin expects both to leave the node on.
		s, err := chassisState(ctx, c)
		if err != nil {
			return "", err
		}
		switch {
		case s == "off":
			ctl, result = chassis.ChassisControlPowerUp, "on"
		case a == Boot:
			ctl, result = chassis.ChassisControlHardReset, string(Reset)
		}
	}
	if _, err := c.ChassisControl(ctx, ctl); err != nil {
		return "", fmt.Errorf("chassis control %s: %w", a, err)
	}
	return result, nil
}

// session opens an RMCP+ session with t's BMC at administrator privilege.
func (p IPMI) session(ctx context.Context, t Target) (*client.Client, error) {
	attempt := p.Attempt
	if attempt <= 0 {
		attempt = 2 * time.Second
	}
	c, err := client.NewClient(t.Addr.Addr().String(), int(t.Addr.Port()), t.User, string(t.Password))
	if err != nil {
		return nil, fmt.Errorf("user %s: %w", t.User, err)
	}
	c.WithTimeout(attempt).WithRetry(2).WithMaxPrivilegeLevel(types.PrivilegeLevelAdministrator)
	if err := c.Connect(ctx); err != nil {
		return nil, sessionError(t.User, err)
	}
	return c, nil
}

func chassisState(ctx context.Context, c *client.Client) (string, error) {
	st, err := c.GetChassisStatus(ctx)
	if err != nil {
		return "", fmt.Errorf("chassis status: %w", err)
	}
	if st.PowerIsOn {
		return "on", nil
	}
	return "off", nil
}

// sessionError shortens go-ipmi's session failure (one line per cipher
// suite tried) to its cause: a RAKP2 mismatch in any suite is a wrong
// user or password.
func sessionError(user string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "RAKP2 authentication code mismatch"):
		return fmt.Errorf("RMCP+ session as %s: authentication failed (wrong bmc_user or bmc_password)", user)
	case strings.Contains(msg, "i/o timeout") || strings.Contains(msg, "deadline exceeded"):
		return fmt.Errorf("RMCP+ session as %s: no answer from the BMC: %w", user, context.DeadlineExceeded)
	}
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("RMCP+ session as %s: %s", user, strings.TrimSpace(msg))
}
