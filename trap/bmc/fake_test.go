package bmc

import (
	"context"
	"fmt"
	"strings"
)

// fakeBMC records every request as "netfn cmd data" hex text and answers
// from a table keyed by that text's "netfn cmd" prefix.
type fakeBMC struct {
	log     []string
	answers map[string][]byte // "0c 02 01 05" (netfn cmd + leading data) -> response
}

func (f *fakeBMC) Send(_ context.Context, netfn, cmd byte, data []byte) ([]byte, error) {
	line := fmt.Sprintf("%02x %02x % x", netfn, cmd, data)
	f.log = append(f.log, strings.TrimSpace(line))
	best, bestLen := []byte{0}, -1
	for k, v := range f.answers {
		if strings.HasPrefix(line, k) && len(k) > bestLen {
			best, bestLen = v, len(k)
		}
	}
	return best, nil
}
