package initrd

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/internal/golden"
)

func loadFixture(t *testing.T) (*ModuleDeps, map[string]bool) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "modules.dep"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	md, err := ParseModulesDep(f)
	if err != nil {
		t.Fatalf("ParseModulesDep(testdata/modules.dep): %v", err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "modules.builtin"))
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := ParseBuiltin(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return md, builtin
}

func TestModuleName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"kernel/drivers/md/dm-crypt.ko", "dm_crypt"},
		{"virtio_net.ko.xz", "virtio_net"},
		{"kernel/a/b-c.ko.zst", "b_c"},
		{"dm-mod", "dm_mod"},
		{"e1000", "e1000"},
	} {
		if got := ModuleName(tc.in); got != tc.want {
			t.Errorf("ModuleName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	md, builtin := loadFixture(t)
	if md.Len() != 13 {
		t.Fatalf("Len() = %d, want 13", md.Len())
	}
	for _, tc := range []struct {
		name     string
		mods     []string
		want     []string
		builtins []string
	}{
		{
			name: "virtio_net pulls failover and the virtio core",
			mods: []string{"virtio_net"},
			want: []string{
				"kernel/drivers/net/net_failover.ko",
				"kernel/drivers/net/virtio_net.ko",
				"kernel/drivers/virtio/virtio.ko",
				"kernel/drivers/virtio/virtio_ring.ko",
				"kernel/net/core/failover.ko",
			},
		},
		{
			name: "no deps",
			mods: []string{"e1000"},
			want: []string{"kernel/drivers/net/ethernet/intel/e1000/e1000.ko"},
		},
		{
			name: "hyphen and underscore are the same",
			mods: []string{"dm_crypt"},
			want: []string{"kernel/drivers/md/dm-crypt.ko", "kernel/drivers/md/dm-mod.ko"},
		},
		{
			name: "overlapping closures are merged once",
			mods: []string{"virtio_pci", "virtio_net", "virtio-pci"},
			want: []string{
				"kernel/drivers/net/net_failover.ko",
				"kernel/drivers/net/virtio_net.ko",
				"kernel/drivers/virtio/virtio.ko",
				"kernel/drivers/virtio/virtio_pci.ko",
				"kernel/drivers/virtio/virtio_pci_legacy_dev.ko",
				"kernel/drivers/virtio/virtio_pci_modern_dev.ko",
				"kernel/drivers/virtio/virtio_ring.ko",
				"kernel/net/core/failover.ko",
			},
		},
		{
			name:     "builtin modules are skipped",
			mods:     []string{"loop", "e1000", "ext4"},
			want:     []string{"kernel/drivers/net/ethernet/intel/e1000/e1000.ko"},
			builtins: []string{"loop", "ext4"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, bi, err := md.Resolve(tc.mods, builtin)
			if err != nil {
				t.Fatalf("Resolve(%v) error %v", tc.mods, err)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("Resolve(%v) = %v, want %v", tc.mods, got, tc.want)
			}
			if strings.Join(bi, " ") != strings.Join(tc.builtins, " ") {
				t.Errorf("Resolve(%v) builtins = %v, want %v", tc.mods, bi, tc.builtins)
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	md, builtin := loadFixture(t)
	for _, tc := range []struct {
		mods    []string
		wantMsg string
	}{
		{[]string{"foo"}, "module foo: not found"},
		{[]string{"e1000", "nosuch_mod"}, "module nosuch_mod: not found"},
		{[]string{"iscsi_tcp"}, "module kernel/drivers/scsi/missing_dep.ko (needed by kernel/drivers/scsi/iscsi_tcp.ko): not found"},
	} {
		_, _, err := md.Resolve(tc.mods, builtin)
		if err == nil || !errors.Is(err, ErrModuleNotFound) || err.Error() != tc.wantMsg {
			t.Errorf("Resolve(%v) error = %v, want %q wrapping ErrModuleNotFound", tc.mods, err, tc.wantMsg)
		}
	}
}

func TestParseModulesDepErrors(t *testing.T) {
	for _, in := range []string{
		"no colon here\n",
		": kernel/a.ko\n",
		"/abs/a.ko:\n",
		"kernel/a.ko: ../../etc/passwd\n",
		"kernel/a.ko:\nkernel/a.ko:\n",
		"kernel/../x.ko:\n",
	} {
		if md, err := ParseModulesDep(strings.NewReader(in)); err == nil {
			t.Errorf("ParseModulesDep(%q) = %d modules, want an error", in, md.Len())
		}
	}
}

func TestModuleIndexesGolden(t *testing.T) {
	md, builtin := loadFixture(t)
	files, _, err := md.Resolve([]string{"virtio_net", "e1000"}, builtin)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := md.WriteSubset(&buf, files); err != nil {
		t.Fatal(err)
	}
	sub, err := ParseModulesDep(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatalf("subset does not parse: %v", err)
	}
	if got, _, err := sub.Resolve([]string{"virtio_net"}, nil); err != nil || len(got) != 5 {
		t.Errorf("subset Resolve(virtio_net) = %v, %v; want 5 files", got, err)
	}
	buf.WriteString("----\n")
	names := map[string]bool{}
	for _, f := range files {
		names[ModuleName(f)] = true
	}
	alias, err := os.ReadFile(filepath.Join("testdata", "modules.alias"))
	if err != nil {
		t.Fatal(err)
	}
	if err := FilterModuleLines(&buf, bytes.NewReader(alias), names); err != nil {
		t.Fatal(err)
	}
	golden.Check(t, filepath.Join("testdata", "subset.golden"), buf.String())
}

func FuzzParseModulesDep(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "modules.dep"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed))
	f.Add("a.ko:\n")
	f.Add("a.ko: b.ko\nb.ko: a.ko\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		md, err := ParseModulesDep(strings.NewReader(in))
		if err != nil {
			return
		}
		var names []string
		for _, file := range md.order {
			names = append(names, ModuleName(file))
		}
		files, _, err := md.Resolve(names, nil)
		if err != nil && !errors.Is(err, ErrModuleNotFound) {
			t.Fatalf("Resolve: unexpected error %v", err)
		}
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := md.WriteSubset(&buf, files); err != nil {
			t.Fatal(err)
		}
		again, err := ParseModulesDep(&buf)
		if err != nil {
			t.Fatalf("subset of %q does not parse: %v", in, err)
		}
		if again.Len() != len(files) {
			t.Fatalf("subset lists %d modules, want %d", again.Len(), len(files))
		}
	})
}

func FuzzFilterModuleLines(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join("testdata", "modules.alias"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(seed), "virtio_net")
	f.Add("softdep ext4 pre: crc32c\n", "ext4")
	f.Add("kernel/fs/ext4/ext4.ko\n", "ext4")
	f.Fuzz(func(t *testing.T, in, name string) {
		var out bytes.Buffer
		if err := FilterModuleLines(&out, strings.NewReader(in), map[string]bool{name: true}); err != nil {
			return
		}
		if out.Len() > len(in)+strings.Count(in, "\n")+1 {
			t.Fatalf("filter output (%d bytes) longer than input (%d)", out.Len(), len(in))
		}
		var again bytes.Buffer
		if err := FilterModuleLines(&again, bytes.NewReader(out.Bytes()), map[string]bool{name: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Bytes(), out.Bytes()) {
			t.Fatalf("filter is not idempotent: %q then %q", out.Bytes(), again.Bytes())
		}
	})
}
