package lab

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"
)

// directInit is the busybox /init of the direct-boot test: it loads the
// virtio NIC, talks to the bridge, and leaves a shell on the console.
const directInit = `#!/bin/sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
@INSMODS@
echo DTLAB-MARKER-BOOTED
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up
ip link set eth0 up
ip addr add 198.18.0.50/24 dev eth0
if ping -c 2 -W 3 198.18.0.1 >/dev/null; then echo DTLAB-PING-OK; else echo DTLAB-PING-FAIL; fi
ip -o link show eth0
echo DTLAB-SHELL-READY
exec setsid cttyhack sh
`

// TestDirectBoot boots the guest kernel with a busybox initramfs on the
// lab bridge, checks the guest reaches the bridge and the bridge reaches
// the guest, and talks to the guest's shell through the serial console.
func TestDirectBoot(t *testing.T) {
	requireQEMU(t)
	k := findKernel(t)
	initrd := buildInitramfs(t, k, []string{"virtio_pci", "virtio_net"}, directInit)
	l := newTestLab(t, Options{})
	const mac = "52:54:00:d7:00:50"
	n, err := l.Boot(NodeSpec{Name: "direct", MACs: []string{mac}, Kernel: k.Vmlinuz, Initrd: initrd,
		Append: "quiet panic=-1", NoReboot: true})
	if err != nil {
		t.Fatalf("Boot: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := n.WaitConsole(ctx, "DTLAB-MARKER-BOOTED", 90*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING direct boot to /init marker: %s", n.Elapsed().Round(time.Millisecond))
	m, err := n.WaitConsoleRegexp(ctx, regexp.MustCompile(`DTLAB-PING-(OK|FAIL)`), 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != "OK" {
		t.Errorf("guest ping of 198.18.0.1 failed:\n%s", n.ConsoleTail(30))
	}
	if err := n.WaitConsole(ctx, "link/ether "+mac, 10*time.Second); err != nil {
		t.Errorf("guest eth0 lacks MAC %s: %v", mac, err)
	}
	if err := n.WaitConsole(ctx, "DTLAB-SHELL-READY", 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if out, err := l.Run(ctx, "busybox", "ping", "-c", "1", "-W", "3", "198.18.0.50"); err != nil {
		t.Errorf("namespace ping of the guest: %v\n%s", err, out)
	}

	// The shell computes the answer, so seeing it proves input reached sh
	// (a mere tty echo would show the unevaluated expression).
	off := n.ConsoleOffset()
	time.Sleep(500 * time.Millisecond) // let sh print its prompt
	if err := n.SendConsole("echo hello-$((6*7))-dt\n"); err != nil {
		t.Fatalf("SendConsole: %v", err)
	}
	if _, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(`(?m)^hello-42-dt$`), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("TIMING console round trip done at %s", n.Elapsed().Round(time.Millisecond))
	// A second send reuses the connection.
	off = n.ConsoleOffset()
	if err := n.SendConsole("echo again-$((1+1))\n"); err != nil {
		t.Fatalf("SendConsole: %v", err)
	}
	if err := waitFrom(ctx, n, off, "again-2"); err != nil {
		t.Fatal(err)
	}

	pid := n.PID()
	if err := n.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if n.Alive() || PIDAlive(pid) {
		t.Errorf("qemu pid %d alive after Stop", pid)
	}
	if !strings.Contains(n.ConsoleText(), "hello-42-dt") {
		t.Errorf("ConsoleText lacks the shell's answer")
	}
}

func waitFrom(ctx context.Context, n *Node, off int, s string) error {
	_, err := n.WaitConsoleFrom(ctx, off, regexp.MustCompile(regexp.QuoteMeta(s)), 30*time.Second)
	return err
}

// TestPXEFirmware boots BIOS and UEFI nodes with no DHCP server on the
// bridge and checks each firmware's PXE client starts: QEMU's iPXE ROM
// under SeaBIOS, OVMF's own PXE under UEFI.
func TestPXEFirmware(t *testing.T) {
	requireQEMU(t)
	tests := []struct {
		name     string
		firmware Firmware
		markers  []*regexp.Regexp
		timeout  time.Duration
	}{
		{"bios", BIOS, []*regexp.Regexp{
			regexp.MustCompile(`iPXE \(PCI 00:0[0-9a-f]\.0\) starting execution`),
			regexp.MustCompile(`iPXE [^\n]* -- Open Source Network Boot Firmware`),
			regexp.MustCompile(`net0: 52:54:00:d7:01:01 using virtio-net`),
			regexp.MustCompile(`Configuring \(net0`),
		}, 90 * time.Second},
		{"uefi", UEFI, []*regexp.Regexp{
			regexp.MustCompile(`Start PXE over IPv4`),
		}, 180 * time.Second},
	}
	l := newTestLab(t, Options{})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := l.Boot(NodeSpec{Name: "pxe-" + tt.name, Firmware: tt.firmware,
				MACs: []string{"52:54:00:d7:01:0" + string(rune('1'+i))}})
			if err != nil {
				t.Fatalf("Boot: %v", err)
			}
			defer n.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), tt.timeout)
			defer cancel()
			for _, re := range tt.markers {
				if _, err := n.WaitConsoleRegexp(ctx, re, tt.timeout); err != nil {
					t.Fatal(err)
				}
				t.Logf("TIMING %s: %q after %s", tt.name, re, n.Elapsed().Round(time.Millisecond))
			}
			if tt.firmware == UEFI && strings.Contains(n.ConsoleText(), "iPXE") {
				t.Errorf("UEFI node ran an iPXE ROM, want OVMF's own PXE:\n%s", n.ConsoleTail(20))
			}
			if testing.Verbose() {
				t.Logf("console of %s:\n%s", n.Name, n.ConsoleTail(12))
			}
		})
	}
}
