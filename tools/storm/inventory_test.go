package storm

import (
	"path/filepath"
	"testing"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

func TestInventoryMatchesHelpers(t *testing.T) {
	for _, n := range []int{1, 300, 10000} {
		t.Run(NodeRange(1, n), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cluster.yaml")
			if err := WriteInventory(path, n); err != nil {
				t.Fatal(err)
			}
			c, err := inventory.Load(path)
			if err != nil {
				t.Fatalf("inventory.Load(%d nodes): %v", n, err)
			}
			if got := len(c.Nodes()); got != n {
				t.Fatalf("inventory has %d nodes, want %d", got, n)
			}
			for _, i := range []int{1, n / 2, n} {
				if i < 1 {
					continue
				}
				node, iface, ok := c.ByMAC(NodeMAC(i))
				if !ok {
					t.Fatalf("ByMAC(%s) found nothing, want %s", NodeMAC(i), NodeName(i))
				}
				if node.Name != NodeName(i) || iface.IP != NodeIP(i) {
					t.Errorf("ByMAC(%s) = %s %s, want %s %s", NodeMAC(i), node.Name, iface.IP, NodeName(i), NodeIP(i))
				}
			}
		})
	}
}

func TestInventoryBounds(t *testing.T) {
	for _, n := range []int{0, -1, MaxNodes + 1} {
		if _, err := Inventory(n); err == nil {
			t.Errorf("Inventory(%d) = nil error, want one", n)
		}
	}
}

func TestNodeMACIsPerfdhcps(t *testing.T) {
	// perfdhcp adds r (< -R) octet by octet to the template
	// 00:0c:00:00:00:00; client r is node r+1.
	for _, r := range []int{0, 1, 255, 256, 9999, 65534} {
		want := [6]byte{0, 0x0c, 0, byte(r >> 16), byte(r >> 8), byte(r)}
		if got := NodeMAC(r + 1); [6]byte(got) != want {
			t.Errorf("NodeMAC(%d) = %s, want %x", r+1, got, want)
		}
	}
}
