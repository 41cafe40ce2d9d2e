package state

import (
	"errors"
	"fmt"
	"testing"
)

// TestBootKeys: a registration needs an open boot (a served script since
// the last one), replaces the previous key, is idempotent for the same
// key, and survives a reopen with its OS token; secret releases are once
// per (node, boot, name), also after a reopen.
func TestBootKeys(t *testing.T) {
	dir := t.TempDir()
	s, err := testOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := func(b int64) string { return fmt.Sprintf("boot%d", b) }
	k1, k2 := []byte("key-1"), []byte("key-2")
	if _, err := s.RegisterBoot("cn001", k1, "r", id); !errors.Is(err, ErrNoOpenBoot) {
		t.Fatalf("register before any boot = %v, want ErrNoOpenBoot", err)
	}
	s.StartBoot("cn001")
	bk, err := s.RegisterBoot("cn001", k1, "r", id)
	if err != nil || bk.Boot != "boot1" {
		t.Fatalf("register in boot 1 = %+v, %v", bk, err)
	}
	if again, err := s.RegisterBoot("cn001", k1, "r", id); err != nil || again.Boot != "boot1" {
		t.Errorf("same key again = %+v, %v; want boot1", again, err)
	}
	if _, err := s.RegisterBoot("cn001", k2, "r", id); !errors.Is(err, ErrNoOpenBoot) {
		t.Errorf("another key in the same boot = %v, want ErrNoOpenBoot", err)
	}
	if err := s.SetOSToken("cn001", "boot0", "aa"); err == nil {
		t.Errorf("SetOSToken for a boot that is not current succeeded")
	}
	if err := s.SetOSToken("cn001", "boot1", "aa"); err != nil {
		t.Fatal(err)
	}
	for i, want := range []bool{true, false} {
		if first, err := s.ReleaseSecret("cn001", "boot1", "luks", "r"); err != nil || first != want {
			t.Errorf("release %d = %v, %v; want %v", i+1, first, err, want)
		}
	}
	s.Close()

	s, err = testOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if bk, ok := s.BootKeyOf("cn001"); !ok || bk.Boot != "boot1" || string(bk.Key) != "key-1" || bk.OSToken != "aa" {
		t.Errorf("after reopen: %+v, %v", bk, ok)
	}
	if first, err := s.ReleaseSecret("cn001", "boot1", "luks", "r"); err != nil || first {
		t.Errorf("release after reopen = %v, %v; want refused", first, err)
	}
	if rs, err := s.Releases("cn001"); err != nil || len(rs) != 1 || rs[0].Name != "luks" {
		t.Errorf("Releases = %+v, %v", rs, err)
	}
	s.StartBoot("cn001")
	if bk, err := s.RegisterBoot("cn001", k2, "r", id); err != nil || bk.Boot != "boot2" || bk.OSToken != "" {
		t.Errorf("register in boot 2 = %+v, %v; want boot2 without an OS token", bk, err)
	}
}
