package state

import (
	"errors"
	"fmt"
	"testing"
)

// TestAdoptBootKey: the named node signs with the discovery boot's key and
// boot id, survives a reopen, and its next boot registers its own key.
func TestAdoptBootKey(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id := func(b int64) string { return fmt.Sprintf("boot%d", b) }
	if _, err := s.AdoptBootKey("mac-525400000001", "cn001"); err == nil {
		t.Fatal("adopting a key that was never registered succeeded")
	}
	s.StartBoot("mac-525400000001")
	s.StartBoot("mac-525400000001")
	disc, err := s.RegisterBoot("mac-525400000001", []byte("k1"), "r", id)
	if err != nil {
		t.Fatal(err)
	}
	bk, err := s.AdoptBootKey("mac-525400000001", "cn001")
	if err != nil || bk.Boot != disc.Boot || string(bk.Key) != "k1" || bk.Node != "cn001" {
		t.Fatalf("adopt = %+v, %v", bk, err)
	}
	if _, ok := s.BootKeyOf("mac-525400000001"); !ok {
		t.Errorf("the discovery name lost its key")
	}
	s.Close()
	if s, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, ok := s.BootKeyOf("cn001"); !ok || got.Boot != disc.Boot {
		t.Fatalf("after reopen: %+v, %v", got, ok)
	}
	if _, err := s.RegisterBoot("cn001", []byte("k2"), "r", id); !errors.Is(err, ErrNoOpenBoot) {
		t.Errorf("register without a boot = %v, want ErrNoOpenBoot", err)
	}
	s.StartBoot("cn001")
	if got, err := s.RegisterBoot("cn001", []byte("k2"), "r", id); err != nil || got.Boot != "boot1" {
		t.Errorf("next boot's registration = %+v, %v", got, err)
	}
}
