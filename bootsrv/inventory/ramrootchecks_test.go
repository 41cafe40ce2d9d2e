package inventory

import (
	"strings"
	"testing"
)

func TestRAMRootChecks(t *testing.T) {
	for _, tc := range []struct {
		check func(string) error
		name  string
		in    string
		ok    bool
	}{
		{checkSize, "size", "2G", true}, {checkSize, "size", "512M", true}, {checkSize, "size", "1GiB", true},
		{checkSize, "size", "4096", true}, {checkSize, "size", "1t", true},
		{checkSize, "size", "", false}, {checkSize, "size", "0", false}, {checkSize, "size", "-1G", false},
		{checkSize, "size", "G", false}, {checkSize, "size", "1.5G", false}, {checkSize, "size", "+1G", false},
		{checkSize, "size", "99999999999T", false},
		{checkWord, "word", "lzo-rle", true}, {checkWord, "word", "zstd", true}, {checkWord, "word", "", true},
		{checkWord, "word", "LZ4", false}, {checkWord, "word", "-x", false}, {checkWord, "word", "a b", false},
		{checkAbsPath, "abspath", "/", true}, {checkAbsPath, "abspath", "/var", true}, {checkAbsPath, "abspath", "/var/lib", true},
		{checkAbsPath, "abspath", "var", false}, {checkAbsPath, "abspath", "/var/", false}, {checkAbsPath, "abspath", "/a/../b", false},
		{checkAbsPath, "abspath", "/a b", false}, {checkAbsPath, "abspath", "/a\n", false},
	} {
		t.Run(tc.name+"/"+tc.in, func(t *testing.T) {
			if err := tc.check(tc.in); (err == nil) != tc.ok {
				t.Errorf("check %s(%q) = %v, want ok=%v", tc.name, tc.in, err, tc.ok)
			}
		})
	}
}

func TestRAMRootAttrsDecode(t *testing.T) {
	c, err := Parse("cluster.yaml", []byte(`
groups:
  - name: compute
    mode: ramroot
    image: os
    zram_size: 2G
    zram_algorithm: zstd
    overlays: [/, /var, /home]
nodes:
  - name: cn1
    groups: [compute]
`))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	n, _ := c.Node("cn1")
	if Val(n.Attrs.ZramSize) != "2G" || Val(n.Attrs.ZramAlgorithm) != "zstd" || strings.Join(Val(n.Attrs.Overlays), ",") != "/,/var,/home" {
		t.Errorf("cn1 attrs = %+v", n.Attrs.Map())
	}
	_, err = Parse("cluster.yaml", []byte("nodes:\n  - name: cn1\n    overlays: [var]\n"))
	if err == nil || !strings.Contains(err.Error(), "cluster.yaml:3") || !strings.Contains(err.Error(), "overlays") {
		t.Errorf("Parse(overlays: [var]) = %v, want an error naming cluster.yaml:3 and overlays", err)
	}
}
