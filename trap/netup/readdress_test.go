package netup

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

type delFake struct{ fake }

func (f *delFake) DelAddr(name string, p netip.Prefix) error {
	fmt.Fprintf(&f.log, "del addr %s %s\n", name, p)
	return nil
}

// TestReaddress: the lease goes before the reserved address comes, then
// the default route; ops that cannot delete are refused by name.
func TestReaddress(t *testing.T) {
	f := &delFake{}
	err := Readdress(f, "eth0", netip.MustParsePrefix("198.18.0.201/24"), netip.MustParsePrefix("198.18.0.17/24"), netip.MustParseAddr("198.18.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	want := "del addr eth0 198.18.0.201/24\naddr eth0 198.18.0.17/24\nroute default via 198.18.0.1 dev eth0\n"
	if got := f.log.String(); got != want {
		t.Errorf("Readdress did\n%s\nwant\n%s", got, want)
	}
	f2 := &delFake{}
	if err := Readdress(f2, "eth0", netip.MustParsePrefix("198.18.0.17/24"), netip.MustParsePrefix("198.18.0.17/24"), netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	if got := f2.log.String(); got != "addr eth0 198.18.0.17/24\n" {
		t.Errorf("same address: did %q", got)
	}
	if err := Readdress(&fake{}, "eth0", netip.Prefix{}, netip.MustParsePrefix("198.18.0.17/24"), netip.Addr{}); err == nil || !strings.Contains(err.Error(), "cannot delete an address") {
		t.Errorf("ops without DelAddr: %v", err)
	}
}
