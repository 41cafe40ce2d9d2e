package server

import "testing"

func TestParseSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1048576", 1 << 20, true},
		{"64G", 64 << 30, true},
		{"512MiB", 512 << 20, true},
		{"2k", 2 << 10, true},
		{"1TB", 1 << 40, true},
		{"", 0, false},
		{"0", 0, false},
		{"-5G", 0, false},
		{"G", 0, false},
		{"1.5G", 0, false},
		{"9999999999T", 0, false},
		{"12X", 0, false},
	} {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSize(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"64G", "512MiB", "1", "0", "-1", "9223372036854775807", "8E", "kiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err == nil && n <= 0 {
			t.Fatalf("ParseSize(%q) = %d without an error", s, n)
		}
	})
}
