package dhcpd

import "fmt"

// release handles DHCPRELEASE: a dynamic lease is freed when the client
// names its own address; reservations stay.
func (e *Env) release(d Decision) (Decision, error) {
	r := &d.Request
	d.Outcome = OutcomeRelease
	d.Addr = r.CIAddr
	if e.Reserve != nil {
		if ip, _, ok := e.Reserve(r.MAC); ok && ip == r.CIAddr {
			d.Static = true
			return d, nil // static: nothing to free
		}
	}
	if e.Leases == nil {
		return d, nil
	}
	if lk, ok := e.Leases.(LeaseLookup); ok {
		if l, ok := lk.Lookup(r.MAC); !ok || l.Addr != r.CIAddr {
			d.Reason = "not this MAC's lease"
			return d, nil
		}
	}
	if err := e.Leases.Release(r.MAC); err != nil {
		return d, fmt.Errorf("dhcp release %s %s: %w", r.MAC, r.CIAddr, err)
	}
	return d, nil
}

func (e *Env) decline(d Decision) (Decision, error) {
	r := &d.Request
	d.Outcome = OutcomeDecline
	d.Addr = r.Requested
	e.log().Warn("dhcp decline: client says its address is in use", "mac", r.MAC.String(), "addr", r.Requested.String())
	if dl, ok := e.Leases.(Decliner); ok && r.Requested.IsValid() {
		if err := dl.Decline(r.MAC, r.Requested); err != nil {
			return d, fmt.Errorf("dhcp decline %s %s: %w", r.MAC, r.Requested, err)
		}
	}
	return d, nil
}
