package power

import (
	"context"
	"fmt"
	"io"

	"github.com/bougou/go-ipmi/pkg/command/transport"
	"github.com/bougou/go-ipmi/pkg/types"
)

// Console is a BMC that offers the node's serial console.
type Console interface {
	// Console copies in to t's serial console and the console to out
	// until in ends (io.EOF: a clean end) or ctx does.
	Console(ctx context.Context, t Target, in io.Reader, out io.Writer) error
}

// Console attaches to t's Serial-over-LAN (IPMI v2.0 SOL payload,
// instance 1), deactivating it again when done.
func (p IPMI) Console(ctx context.Context, t Target, in io.Reader, out io.Writer) error {
	if t.Problem != "" {
		return fmt.Errorf("%s", t.Problem)
	}
	if !t.Addr.IsValid() || t.User == "" {
		return ErrNoBMC
	}
	c, err := p.session(ctx, t)
	if err != nil {
		return fmt.Errorf("BMC %s: %w", t.Addr, err)
	}
	defer c.Close(context.WithoutCancel(ctx)) //nolint:errcheck // best-effort session close
	sol := types.PayloadTypeSOL
	if _, err := c.ActivatePayload(ctx, &transport.ActivatePayloadRequest{PayloadType: sol, PayloadInstance: 1}); err != nil {
		return fmt.Errorf("BMC %s: activate SOL: %w", t.Addr, err)
	}
	defer c.DeactivatePayload(context.WithoutCancel(ctx), &transport.DeactivatePayloadRequest{PayloadType: sol, PayloadInstance: 1}) //nolint:errcheck
	if err := c.SOLStream(ctx, in, out, nil); err != nil {
		return fmt.Errorf("BMC %s: SOL: %w", t.Addr, err)
	}
	return nil
}
