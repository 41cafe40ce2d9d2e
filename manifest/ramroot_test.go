package manifest

import (
	"encoding/json"
	"testing"
)

func TestRAMRootDefaults(t *testing.T) {
	m := (&Manifest{Server: "http://198.18.0.1:8080/", Image: &Image{Name: "os.sqfs"}, Zram: []Zram{{}, {Device: "7", Mount: "/scratch"}}}).RAMRootDefaults()
	want := `{"name":"os.sqfs","url":"http://198.18.0.1:8080/images/os.sqfs","sha256":"","format":"squashfs","transport":"http"}` +
		`[{"device":"zram0","size":"1G","algorithm":"lzo-rle","fs":"xfs","mount":"/overlay"},{"device":"7","size":"1G","algorithm":"lzo-rle","fs":"xfs","mount":"/scratch"}]` +
		`["/","/var"]"/sbin/init"`
	var got []byte
	for _, v := range []any{m.Image, m.Zram, m.Overlays, m.Init} {
		b, _ := json.Marshal(v)
		got = append(got, b...)
	}
	if string(got) != want {
		t.Errorf("RAMRootDefaults =\n%s\nwant\n%s", got, want)
	}
	// Set values are kept.
	k := (&Manifest{Overlays: []string{}, Init: "/init", Image: &Image{URL: "http://x/y", Format: "tar"}}).RAMRootDefaults()
	if len(k.Overlays) != 0 || k.Init != "/init" || k.Image.URL != "http://x/y" || k.Image.Format != "tar" {
		t.Errorf("RAMRootDefaults overwrote set values: %+v %+v", k, k.Image)
	}
	var nilM *Manifest
	if nilM.RAMRootDefaults() != nil {
		t.Errorf("nil.RAMRootDefaults() != nil")
	}
}
