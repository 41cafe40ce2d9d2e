package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestTableGolden(t *testing.T) {
	tb := &table{title: "DHCP: DORA exchanges/s at <= 2.5 % loss", header: []string{"System", "rate", "ratio"}}
	tb.add("Kea 2.2 memfile, dynamic pool", "13500", ratio(13500, 13500))
	tb.add("bootsrv, dynamic pool", "27000", ratio(27000, 13500))
	tb.add("bootsrv, nothing to compare", "1", ratio(1, 0))
	var b strings.Builder
	tb.write(&b)
	golden := filepath.Join("testdata", "table.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if b.String() != string(want) {
		t.Errorf("table =\n%s\nwant\n%s", b.String(), want)
	}
}
