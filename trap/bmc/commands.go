package bmc

import (
	"context"
	"fmt"
	"net"
	"net/netip"
)

// LAN configuration parameters (IPMI v2.0 table 23-4).
const (
	lanSetInProgress = 0
	lanIPAddr        = 3
	lanIPSource      = 4
	lanMAC           = 5
	lanNetmask       = 6
	lanGateway       = 12

	ipSourceStatic = 1
	privAdmin      = 4
)

// DeviceID is what Get Device ID says about the BMC.
type DeviceID struct {
	ID, Revision byte
	Firmware     string // "major.minor", minor in BCD as the spec has it
	IPMIVersion  string
	Manufacturer uint32
	Product      uint16
}

// GetDeviceID reads the BMC's identity and firmware revision.
func GetDeviceID(ctx context.Context, d Device) (DeviceID, error) {
	r, err := do(ctx, d, netfnApp, cmdGetDeviceID, nil)
	if err != nil {
		return DeviceID{}, fmt.Errorf("get device id: %w", err)
	}
	if len(r) < 5 {
		return DeviceID{}, fmt.Errorf("get device id: short response (%d bytes)", len(r))
	}
	id := DeviceID{ID: r[0], Revision: r[1] & 0x0f,
		Firmware:    fmt.Sprintf("%d.%02x", r[2]&0x7f, r[3]),
		IPMIVersion: fmt.Sprintf("%d.%d", r[4]&0x0f, r[4]>>4)}
	if len(r) >= 10 {
		id.Manufacturer = uint32(r[6]) | uint32(r[7])<<8 | uint32(r[8]&0x0f)<<16
		id.Product = uint16(r[9])
		if len(r) >= 11 {
			id.Product |= uint16(r[10]) << 8
		}
	}
	return id, nil
}

// SetLAN sets one LAN configuration parameter of channel ch.
func SetLAN(ctx context.Context, d Device, ch, param byte, value []byte) error {
	_, err := do(ctx, d, netfnTransport, cmdSetLANConfig, append([]byte{ch & 0x0f, param}, value...))
	if err != nil {
		return fmt.Errorf("set LAN parameter %d on channel %d: %w", param, ch, err)
	}
	return nil
}

// GetLAN reads one LAN configuration parameter of channel ch (the data
// after the parameter revision byte).
func GetLAN(ctx context.Context, d Device, ch, param byte) ([]byte, error) {
	r, err := do(ctx, d, netfnTransport, cmdGetLANConfig, []byte{ch & 0x0f, param, 0, 0})
	if err != nil {
		return nil, fmt.Errorf("get LAN parameter %d on channel %d: %w", param, ch, err)
	}
	if len(r) < 1 {
		return nil, fmt.Errorf("get LAN parameter %d on channel %d: empty response", param, ch)
	}
	return r[1:], nil
}

// GetMAC reads the MAC address of LAN channel ch.
func GetMAC(ctx context.Context, d Device, ch byte) (net.HardwareAddr, error) {
	v, err := GetLAN(ctx, d, ch, lanMAC)
	if err != nil {
		return nil, err
	}
	if len(v) < 6 {
		return nil, fmt.Errorf("get LAN MAC on channel %d: %d bytes, want 6", ch, len(v))
	}
	return net.HardwareAddr(v[:6]), nil
}

// GetIP reads the IPv4 address of LAN channel ch.
func GetIP(ctx context.Context, d Device, ch byte) (netip.Addr, error) {
	v, err := GetLAN(ctx, d, ch, lanIPAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	if len(v) < 4 {
		return netip.Addr{}, fmt.Errorf("get LAN address on channel %d: %d bytes, want 4", ch, len(v))
	}
	return netip.AddrFrom4([4]byte(v[:4])), nil
}

// SetUserName names user slot id (16 bytes, zero padded).
func SetUserName(ctx context.Context, d Device, id byte, name string) error {
	if len(name) == 0 || len(name) > 16 {
		return fmt.Errorf("set user name of user %d: name must be 1-16 bytes, got %d", id, len(name))
	}
	data := make([]byte, 17)
	data[0] = id & 0x3f
	copy(data[1:], name)
	if _, err := do(ctx, d, netfnApp, cmdSetUserName, data); err != nil {
		return fmt.Errorf("set user name of user %d: %w", id, err)
	}
	return nil
}

// Set User Password operations.
const (
	pwDisable = 0
	pwEnable  = 1
	pwSet     = 2
)

func userPassword(ctx context.Context, d Device, id, op byte, password []byte) error {
	data := []byte{id & 0x3f, op}
	if op == pwSet {
		if len(password) == 0 || len(password) > 20 {
			return fmt.Errorf("set password of user %d: password must be 1-20 bytes", id)
		}
		size := 16
		if len(password) > 16 {
			size = 20
			data[0] |= 0x80 // 20-byte password
		}
		p := make([]byte, size)
		copy(p, password)
		data = append(data, p...)
	}
	_, err := do(ctx, d, netfnApp, cmdSetUserPassword, data)
	return err
}

// SetUserPassword sets user id's password (16 or 20 bytes).
func SetUserPassword(ctx context.Context, d Device, id byte, password []byte) error {
	if err := userPassword(ctx, d, id, pwSet, password); err != nil {
		return fmt.Errorf("set password of user %d: %w", id, err)
	}
	return nil
}

// EnableUser enables user id.
func EnableUser(ctx context.Context, d Device, id byte) error {
	if err := userPassword(ctx, d, id, pwEnable, nil); err != nil {
		return fmt.Errorf("enable user %d: %w", id, err)
	}
	return nil
}

// SetUserAccess gives user id administrator privilege on channel ch with
// IPMI messaging and link authentication on.
func SetUserAccess(ctx context.Context, d Device, ch, id byte) error {
	// bit 7: change the bits; 5: link auth; 4: IPMI messaging.
	data := []byte{0x80 | 0x20 | 0x10 | ch&0x0f, id & 0x3f, privAdmin}
	if _, err := do(ctx, d, netfnApp, cmdSetUserAccess, data); err != nil {
		return fmt.Errorf("set access of user %d on channel %d: %w", id, ch, err)
	}
	return nil
}
