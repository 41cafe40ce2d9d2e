package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

func TestTableGolden(t *testing.T) {
	tb := &table{title: "DHCP: DORA exchanges/s at <= 2.5 % loss", header: []string{"System", "rate", "ratio"}}
	tb.add("Kea 2.2 memfile, dynamic pool", "13500", ratio(13500, 13500))
	tb.add("bootsrv, dynamic pool", "27000", ratio(27000, 13500))
	tb.add("bootsrv, nothing to compare", "1", ratio(1, 0))
	var b strings.Builder
	tb.write(&b)
	golden.Check(t, filepath.Join("testdata", "table.golden"), b.String())
}
