package bmc

import (
	"context"
	"fmt"
)

// Device sends one IPMI request to the local BMC and returns the response
// data after the completion code (which Do checks).
type Device interface {
	// Send returns the raw response: completion code first.
	Send(ctx context.Context, netfn, cmd byte, data []byte) ([]byte, error)
}

// Network functions and commands used here (IPMI v2.0 spec, tables G-1).
const (
	netfnApp       = 0x06
	netfnTransport = 0x0c

	cmdGetDeviceID     = 0x01 // App
	cmdSetUserAccess   = 0x43 // App
	cmdSetUserName     = 0x45 // App
	cmdSetUserPassword = 0x47 // App
	cmdSetLANConfig    = 0x01 // Transport
	cmdGetLANConfig    = 0x02 // Transport
)

// CompletionError is a non-zero IPMI completion code.
type CompletionError struct {
	Netfn, Cmd, Code byte
}

func (e *CompletionError) Error() string {
	return fmt.Sprintf("IPMI netfn 0x%02x cmd 0x%02x: completion code 0x%02x", e.Netfn, e.Cmd, e.Code)
}

// do sends a request and returns the response data after a zero
// completion code.
func do(ctx context.Context, d Device, netfn, cmd byte, data []byte) ([]byte, error) {
	resp, err := d.Send(ctx, netfn, cmd, data)
	if err != nil {
		return nil, fmt.Errorf("IPMI netfn 0x%02x cmd 0x%02x: %w", netfn, cmd, err)
	}
	if len(resp) == 0 {
		return nil, fmt.Errorf("IPMI netfn 0x%02x cmd 0x%02x: empty response", netfn, cmd)
	}
	if resp[0] != 0 {
		return nil, &CompletionError{Netfn: netfn, Cmd: cmd, Code: resp[0]}
	}
	return resp[1:], nil
}
