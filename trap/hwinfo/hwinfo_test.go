package hwinfo

import (
	"reflect"
	"testing"
)

func TestCollect(t *testing.T) {
	got := Collect("testdata/node")
	want := Inventory{
		CPUs: 2, CPUModel: "QEMU Virtual CPU version 2.5+", MemoryKB: 768000,
		NICs:   []NIC{{Name: "eth0", MAC: "52:54:00:aa:bb:cc", Speed: 1000}},
		Disks:  []Disk{{Name: "vda", Bytes: 2097152 * 512}},
		Vendor: "QEMU", Product: "Standard PC (i440FX + PIIX, 1996)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Collect(testdata/node) = %+v\nwant %+v", got, want)
	}
	if empty := Collect("testdata/nonexistent"); !reflect.DeepEqual(empty, Inventory{}) {
		t.Errorf("Collect(missing root) = %+v, want the zero Inventory", empty)
	}
}
