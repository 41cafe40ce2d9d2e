package bmc

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"unsafe"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

func labConfig() Config {
	return Config{Channel: 1, Addr: netip.MustParsePrefix("198.18.0.104/24"), Gateway: netip.MustParseAddr("198.18.0.1"),
		UserID: 2, User: "admin", Password: []byte("lab-bmc-pw")}
}

func TestABILayout(t *testing.T) {
	if s := unsafe.Sizeof(ipmiReq{}); s != 40 {
		t.Errorf("struct ipmi_req: %d bytes, want 40", s)
	}
	if s := unsafe.Sizeof(ipmiRecv{}); s != 48 {
		t.Errorf("struct ipmi_recv: %d bytes, want 48", s)
	}
}

// TestSetup diffs the recorded commands and the printed steps.
func TestSetup(t *testing.T) {
	f := &fakeBMC{answers: map[string][]byte{
		"06 01":       {0, 0x23, 0x09, 0x08, 0x09, 0x02, 0x9f, 0x91, 0x12, 0, 0x02, 0x0f},
		"0c 02 01 05": {0, 0x11, 0x52, 0x54, 0x00, 0x15, 0x00, 0x04},
		"0c 02 01 03": {0, 0x11, 198, 18, 0, 104},
	}}
	steps, err := Steps(labConfig())
	if err != nil {
		t.Fatal(err)
	}
	var printed strings.Builder
	for _, s := range steps {
		printed.WriteString(s.String() + "\n")
	}
	info, err := Setup(context.Background(), f, labConfig())
	if err != nil {
		t.Fatal(err)
	}
	if want := (Info{MAC: "52:54:00:15:00:04", Address: "198.18.0.104", Firmware: "8.09"}); info != want {
		t.Errorf("info %+v, want %+v", info, want)
	}
	if strings.Contains(printed.String(), "lab-bmc-pw") {
		t.Errorf("the steps print the password")
	}
	golden.Check(t, "testdata/setup.golden", "# steps\n"+printed.String()+"# commands (netfn cmd data)\n"+strings.Join(f.log, "\n")+"\n")
}

func TestSetupErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"no address", func(c *Config) { c.Addr = netip.Prefix{} }, "bmc_address"},
		{"ipv6 address", func(c *Config) { c.Addr = netip.MustParsePrefix("fd00::1/64") }, "bmc_address"},
		{"long user", func(c *Config) { c.User = strings.Repeat("u", 17) }, "bmc_user"},
		{"empty password", func(c *Config) { c.Password = nil }, "bmc_password"},
		{"long password", func(c *Config) { c.Password = make([]byte, 21) }, "bmc_password"},
		{"slot 0", func(c *Config) { c.UserID = 0 }, "user slot"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := labConfig()
			tc.edit(&c)
			f := &fakeBMC{}
			_, err := Setup(context.Background(), f, c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one naming %s", err, tc.want)
			}
			if len(f.log) != 0 {
				t.Errorf("a bad config sent commands: %q", f.log)
			}
		})
	}
}

// A completion code stops the set-up at the failing step, naming it.
func TestSetupCompletionCode(t *testing.T) {
	f := &fakeBMC{answers: map[string][]byte{"0c 01 01 03": {0xcc}}}
	_, err := Setup(context.Background(), f, labConfig())
	if err == nil || !strings.Contains(err.Error(), "lan 1 ip address 198.18.0.104") || !strings.Contains(err.Error(), "completion code 0xcc") {
		t.Fatalf("error %v", err)
	}
	if n := len(f.log); n != 3 {
		t.Errorf("%d commands sent, want 3 (stopped at the address)", n)
	}
}

func TestLongPassword(t *testing.T) {
	f := &fakeBMC{}
	if err := SetUserPassword(context.Background(), f, 3, []byte("0123456789abcdefXYZ")); err != nil {
		t.Fatal(err)
	}
	// 20-byte form: bit 7 of the user id, 20 bytes of password.
	if got := f.log[0]; !strings.HasPrefix(got, "06 47 83 02 30") || len(strings.Fields(got)) != 2+2+20 {
		t.Errorf("command %q", got)
	}
}
