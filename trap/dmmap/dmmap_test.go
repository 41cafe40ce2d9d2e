package dmmap

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestStructSizes(t *testing.T) {
	if got := unsafe.Sizeof(unix.DmIoctl{}); got != ioctlSize {
		t.Errorf("sizeof(dm_ioctl) = %d, want %d", got, ioctlSize)
	}
	if got := unsafe.Sizeof(unix.DmTargetSpec{}); got != targetSpecSize {
		t.Errorf("sizeof(dm_target_spec) = %d, want %d", got, targetSpecSize)
	}
}

func TestMultipathTarget(t *testing.T) {
	tests := []struct {
		paths   []string
		queue   bool
		want    string
		wantErr bool
	}{
		{[]string{"8:0", "8:16"}, true, "0 2048 multipath 1 queue_if_no_path 0 1 1 round-robin 0 2 1 8:0 1 8:16 1", false},
		{[]string{"8:0"}, false, "0 2048 multipath 0 0 1 1 round-robin 0 1 1 8:0 1", false},
		{nil, true, "", true},
		{[]string{"/dev/sda"}, true, "", true},
	}
	for _, tt := range tests {
		got, err := MultipathTarget(2048, tt.paths, tt.queue)
		if (err != nil) != tt.wantErr || err == nil && got.String() != tt.want {
			t.Errorf("MultipathTarget(%v, %v) = %q, %v, want %q", tt.paths, tt.queue, got, err, tt.want)
		}
	}
}

func TestEncodeLoad(t *testing.T) {
	mp, _ := MultipathTarget(2048, []string{"8:0", "8:16"}, true)
	lin := LinearTarget(100, "253:0", 2048)
	lin.Start = 2048
	b, err := EncodeLoad("mpatha", true, []Target{mp, lin})
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[0:]); v != 4 {
		t.Errorf("version major = %d, want 4", v)
	}
	if v := le.Uint32(b[12:]); int(v) != len(b) {
		t.Errorf("data_size = %d, want %d", v, len(b))
	}
	if v := le.Uint32(b[20:]); v != 2 {
		t.Errorf("target_count = %d, want 2", v)
	}
	if v := le.Uint32(b[28:]); v != unix.DM_READONLY_FLAG {
		t.Errorf("flags = %#x, want readonly", v)
	}
	if cstr(b[48:176]) != "mpatha" {
		t.Errorf("name = %q", cstr(b[48:176]))
	}
	s := b[ioctlSize:]
	next := le.Uint32(s[20:])
	if cstr(s[24:40]) != "multipath" || cstr(s[40:]) != mp.Params || le.Uint64(s[8:]) != 2048 || next%8 != 0 {
		t.Errorf("first spec: type %q params %q len %d next %d", cstr(s[24:40]), cstr(s[40:]), le.Uint64(s[8:]), next)
	}
	s2 := s[next:]
	if cstr(s2[24:40]) != "linear" || cstr(s2[40:]) != "253:0 2048" || le.Uint64(s2[0:]) != 2048 {
		t.Errorf("second spec: type %q params %q start %d", cstr(s2[24:40]), cstr(s2[40:]), le.Uint64(s2[0:]))
	}
	for _, bad := range []struct {
		name string
		ts   []Target
	}{
		{"", []Target{lin}},
		{"a/b", []Target{lin}},
		{"x", nil},
		{"x", []Target{{Length: 1, Type: "averyveryverylongtype", Params: "p"}}},
	} {
		if _, err := EncodeLoad(bad.name, false, bad.ts); err == nil {
			t.Errorf("EncodeLoad(%q, %v) succeeded, want error", bad.name, bad.ts)
		}
	}
}

// reply builds a DM_TABLE_STATUS reply the way the kernel does (next
// relative to the data area).
func reply(ts []Target) []byte {
	b := make([]byte, 4096)
	header(b, "x", 0, uint32(len(ts)))
	off := 0
	data := b[ioctlSize:]
	for _, t := range ts {
		s := data[off:]
		binary.LittleEndian.PutUint64(s[0:], t.Start)
		binary.LittleEndian.PutUint64(s[8:], t.Length)
		copy(s[24:40], t.Type)
		n := copy(s[40:], t.Params)
		off += (40 + n + 1 + 7) &^ 7
		binary.LittleEndian.PutUint32(s[20:], uint32(off))
	}
	return b
}

func TestDecodeStatus(t *testing.T) {
	want := []Target{{0, 2048, "multipath", "2 0 0 0 1 1 A 0 2 0 8:0 A 0 8:16 F 1"}, {2048, 8, "linear", "8:0 0"}}
	got, err := DecodeStatus(reply(want))
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeStatus = %v, %v, want %v", got, err, want)
	}
	if _, err := DecodeStatus(make([]byte, 10)); err == nil {
		t.Errorf("DecodeStatus(short) succeeded")
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add(reply([]Target{{0, 1, "linear", "8:0 0"}}))
	f.Add(make([]byte, ioctlSize))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = DecodeStatus(b) })
}

func TestParseMultipathStatus(t *testing.T) {
	tests := []struct {
		in      string
		want    []PathState
		wantErr bool
	}{
		// queue_if_no_path shows as "2 0 queue_if_no_path"? The kernel prints
		// "<#features> <queue_mode...>"; a map with two paths, the second failed:
		{"2 0 0 0 1 1 A 0 2 0 8:0 A 0 8:16 F 3", []PathState{{"8:0", true, 0}, {"8:16", false, 3}}, false},
		// service-time prints 2 path args per path.
		{"1 0 0 1 1 A 0 2 2 8:0 A 0 0 1 8:16 A 0 0 1", []PathState{{"8:0", true, 0}, {"8:16", true, 0}}, false},
		{"0 0 0 0", nil, false},
		{"1 0 0 1 1 A 0 1 0 8:0 X 0", nil, true},
		{"1 0 0 1 1 A 0 2 0 8:0 A 0", nil, true},
		{"x", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseMultipathStatus(tt.in)
		if (err != nil) != tt.wantErr || !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseMultipathStatus(%q) = %v, %v, want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func FuzzParseMultipathStatus(f *testing.F) {
	f.Add("2 0 0 0 1 1 A 0 2 0 8:0 A 0 8:16 F 3")
	f.Add("1 0 0 1 1 A 0 2 2 8:0 A 0 0 1 8:16 A 0 0 1")
	f.Fuzz(func(t *testing.T, s string) { _, _ = ParseMultipathStatus(s) })
}

func TestCheckerOnce(t *testing.T) {
	var reinstated []string
	c := &Checker{Map: "mpatha",
		Status: func(string) (string, error) { return "1 0 0 1 1 A 0 3 0 8:0 A 0 8:16 F 2 8:32 F 1", nil },
		Probe: func(dev string) error {
			if dev == "8:32" {
				return errors.New("still down")
			}
			return nil
		},
		Reinstate: func(name, dev string) error { reinstated = append(reinstated, name+" "+dev); return nil },
	}
	n, err := c.Once()
	if err != nil || n != 1 || strings.Join(reinstated, ",") != "mpatha 8:16" {
		t.Errorf("Once() = %d, %v, reinstated %v; want 1 (mpatha 8:16)", n, err, reinstated)
	}
}

func TestEncodeMessage(t *testing.T) {
	b, err := EncodeMessage("mpatha", 0, "reinstate_path 8:16")
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%8 != 0 || int(binary.LittleEndian.Uint32(b[12:])) != len(b) || binary.LittleEndian.Uint32(b[16:]) != ioctlSize {
		t.Errorf("EncodeMessage: size %d, data_size %d, data_start %d", len(b), binary.LittleEndian.Uint32(b[12:]), binary.LittleEndian.Uint32(b[16:]))
	}
	if got := cstr(b[48:176]); got != "mpatha" {
		t.Errorf("EncodeMessage name = %q, want mpatha", got)
	}
	if got := cstr(b[ioctlSize+8:]); got != "reinstate_path 8:16" {
		t.Errorf("EncodeMessage message = %q, want %q", got, "reinstate_path 8:16")
	}
	for _, bad := range []string{"", "a\x00b"} {
		if _, err := EncodeMessage("mpatha", 0, bad); err == nil {
			t.Errorf("EncodeMessage(%q) = nil error, want one", bad)
		}
	}
}
