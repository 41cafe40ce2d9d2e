package lab

import (
	"net/netip"
	"strings"
	"testing"
)

func TestLanConf(t *testing.T) {
	b := BMCSpec{Addr: netip.MustParsePrefix("198.18.0.101/24"), User: "admin", Password: "pw", SOL: true}
	got := lanConf("cn001", b, netip.MustParseAddr("169.254.0.101"), 9301, "/l/qemu.sh", "/l/lanctl.sh")
	for _, want := range []string{
		`name "bmc-cn001"`, "  addr 0.0.0.0 623", `  lan_config_program "/l/lanctl.sh eth0"`,
		"serial kcs 169.254.0.101 9002 codec VM", `startcmd "/l/qemu.sh"`, "startnow true",
		`user 2 true "admin" "pw" admin 10 none md2 md5 straight`, `sol "tcp:169.254.0.1:9301" 115200`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("lan.conf lacks line %q:\n%s", want, got)
		}
	}
	b.StartOff, b.SOL = true, false
	got = lanConf("cn002", b, netip.MustParseAddr("169.254.0.102"), 9302, "/q", "/c")
	if !strings.Contains(got, "startnow false\n") || strings.Contains(got, "sol ") {
		t.Errorf("StartOff without SOL:\n%s", got)
	}
}

func TestQEMUScript(t *testing.T) {
	got := qemuScript("dtlab-1-1", "qemu-system-x86_64", []string{"-name", "guest=cn001", "-append", "a b 'c'"})
	want := `exec ip netns exec 'dtlab-1-1' 'qemu-system-x86_64' '-name' 'guest=cn001' '-append' 'a b '\''c'\'''` + "\n"
	if !strings.HasSuffix(got, want) {
		t.Errorf("qemuScript:\n%s\nwant suffix:\n%s", got, want)
	}
}
