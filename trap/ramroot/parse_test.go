package ramroot

import (
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

func TestOverlayOptions(t *testing.T) {
	for _, tc := range []struct {
		lower, upper, work string
		want               string
		err                bool
	}{
		{"/run/dt/lower", "/overlay/upper/root", "/overlay/work/root", "lowerdir=/run/dt/lower,upperdir=/overlay/upper/root,workdir=/overlay/work/root", false},
		{"/run/dt/lower/var", "/o/upper/var", "/o/work/var", "lowerdir=/run/dt/lower/var,upperdir=/o/upper/var,workdir=/o/work/var", false},
		{"/a,b", "/u", "/w", "", true},
		{"/a", "/u:x", "/w", "", true},
		{"/a", "/u", `/w\x`, "", true},
		{"relative", "/u", "/w", "", true},
		{"/a", "", "/w", "", true},
	} {
		got, err := OverlayOptions(tc.lower, tc.upper, tc.work)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("OverlayOptions(%q, %q, %q) = %q, %v; want %q, error %v", tc.lower, tc.upper, tc.work, got, err, tc.want, tc.err)
		}
	}
}

func TestOverlayName(t *testing.T) {
	for in, want := range map[string]string{"/": "root", "": "root", "/var": "var", "/var/": "var", "/var/lib": "var-lib", "var//log": "var-log"} {
		if got := OverlayName(in); got != want {
			t.Errorf("OverlayName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMkfsCommand(t *testing.T) {
	for _, tc := range []struct{ fs, want string }{
		{"xfs", "mkfs.xfs -f -q /dev/zram0"},
		{"ext4", "mkfs.ext4 -F -q /dev/zram0"},
		{"btrfs", ""},
	} {
		got, err := MkfsCommand(tc.fs, "/dev/zram0")
		if strings.Join(got, " ") != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("MkfsCommand(%q) = %q, %v; want %q", tc.fs, got, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"1G", 1 << 30}, {"512M", 512 << 20}, {"512MiB", 512 << 20}, {"64k", 64 << 10}, {"2T", 2 << 40},
		{"4096", 4096}, {" 1g ", 1 << 30}, {"100B", 100},
		{"", 0}, {"G", 0}, {"-1G", 0}, {"0", 0}, {"1.5G", 0}, {"99999999999T", 0}, {"1X", 0},
	} {
		got, err := ParseSize(tc.in)
		if got != tc.want || (err != nil) != (tc.want == 0) {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestParseZramDevice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		err  bool
	}{{"0", 0, false}, {"zram3", 3, false}, {"zram", 0, true}, {"-1", 0, true}, {"loop0", 0, true}} {
		got, err := ParseZramDevice(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseZramDevice(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint32
		err  bool
	}{{"", 0o644, false}, {"0755", 0o755, false}, {"4755", 0o4755, false}, {"0999", 0, true}, {"17777", 0, true}, {"rw", 0, true}} {
		got, err := ParseMode(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseMode(%q) = %o, %v; want %o, error %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

const mountinfoSample = `22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
35 22 253:0 / /overlay rw,relatime - xfs /dev/zram0 rw,attr2
36 22 0:33 / /mnt/with\040space rw - tmpfs none rw
37 22 0:34 / /sysroot rw master:2 shared:3 - overlay overlay rw,lowerdir=/run/dt/lower
`

func TestParseMountinfo(t *testing.T) {
	got, err := ParseMountinfo([]byte(mountinfoSample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mountinfo{
		{"/", "ext4", "/dev/vda1"},
		{"/overlay", "xfs", "/dev/zram0"},
		{"/mnt/with space", "tmpfs", "none"},
		{"/sysroot", "overlay", "overlay"},
	}
	if len(got) != len(want) {
		t.Fatalf("ParseMountinfo = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ParseMountinfo line %d = %+v, want %+v", i+1, got[i], want[i])
		}
	}
	for _, bad := range []string{"1 2 3", "1 2 3:4 / /x rw shared:1 ext4 /dev/x rw", "1 2 3:4 / /x rw - ext4"} {
		if _, err := ParseMountinfo([]byte(bad)); err == nil {
			t.Errorf("ParseMountinfo(%q) = nil error, want one", bad)
		}
	}
}

func TestNetworkEnvText(t *testing.T) {
	n := &manifest.Network{Interface: "net0", MAC: "52:54:00:00:00:01", Address: "198.18.0.11/24"}
	got, err := NetworkEnvText("cn 1", "cn1", "http://198.18.0.1:8080", n)
	want := "NODE='cn 1'\nHOSTNAME=cn1\nSERVER=http://198.18.0.1:8080\nINTERFACE=net0\nMAC=52:54:00:00:00:01\nADDRESS=198.18.0.11/24\nGATEWAY=\n"
	if err != nil || got != want {
		t.Errorf("NetworkEnvText = %q, %v; want %q", got, err, want)
	}
	if _, err := NetworkEnvText("a'b", "", "", nil); err == nil {
		t.Errorf("NetworkEnvText with a quote: no error")
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add(mountinfoSample)
	f.Add(`1 2 3:4 / /a\04 rw - x y z`)
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		mi, err := ParseMountinfo([]byte(s))
		if err != nil {
			return
		}
		for _, m := range mi {
			if m.FSType == "" {
				t.Errorf("ParseMountinfo(%q): empty fstype in %+v", s, m)
			}
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1G", "512MiB", "4096", "", "-1", "99999999999T"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n <= 0 {
			t.Errorf("ParseSize(%q) = %d with no error", s, n)
		}
	})
}
