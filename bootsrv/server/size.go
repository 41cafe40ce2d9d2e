package server

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSize reads a byte count for a command-line limit: a decimal number
// with an optional binary suffix K, M, G or T (KiB..TiB; "iB" and "B" may
// follow), e.g. "64G", "512MiB", "1048576". It must be positive and fit in
// an int64.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "i")
	shift := 0
	if t != "" {
		switch t[len(t)-1] {
		case 'K', 'k':
			shift = 10
		case 'M', 'm':
			shift = 20
		case 'G', 'g':
			shift = 30
		case 'T', 't':
			shift = 40
		}
		if shift > 0 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number of bytes with an optional K, M, G or T suffix", s)
	}
	if n > (1<<63-1)>>shift {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return n << shift, nil
}

// SizeFlag is a flag.Value for a ParseSize byte count.
type SizeFlag struct{ N *int64 }

func (f SizeFlag) String() string {
	if f.N == nil {
		return ""
	}
	return strconv.FormatInt(*f.N, 10)
}

func (f SizeFlag) Set(s string) error {
	n, err := ParseSize(s)
	if err != nil {
		return err
	}
	*f.N = n
	return nil
}
