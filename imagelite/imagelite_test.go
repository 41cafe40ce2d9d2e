package imagelite

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

func rule(p string) Rule {
	return Rule{LiteFile: manifest.LiteFile{Path: p, Option: manifest.LiteTmpfs}, File: "cluster.yaml", Line: 7}
}

func tree(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == root {
			return err
		}
		rel := strings.TrimPrefix(p, root)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			lines = append(lines, rel+" -> "+l)
		case fi.IsDir():
			lines = append(lines, rel+"/")
		default:
			b, _ := os.ReadFile(p)
			lines = append(lines, rel+" "+strings.TrimSpace(string(b)))
		}
		return nil
	})
	return strings.Join(lines, "\n")
}

// TestPrepareRepeatUndo: liteimg's links, a second run that changes
// nothing, and a rule removed put back.
func TestPrepareRepeatUndo(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(root+"/etc/ssh", 0o755)
	os.WriteFile(root+"/etc/motd", []byte("MOTD"), 0o644)
	os.WriteFile(root+"/etc/ssh/sshd_config", []byte("SSHD"), 0o644)
	res, err := Prepare(root, []Rule{rule("/etc/motd"), rule("/etc/ssh/"), rule("/var/new")})
	if err != nil {
		t.Fatal(err)
	}
	want := `/.default/
/.default/etc/
/.default/etc/motd MOTD
/.default/etc/ssh/
/.default/etc/ssh/sshd_config SSHD
/.statelite/
/.statelite/liteimg.list etc/motd
etc/ssh
var/new
/.statelite/tmpfs/
/.statelite/tmpfs/etc/
/.statelite/tmpfs/etc/motd -> /.default/etc/motd
/.statelite/tmpfs/etc/ssh -> /.default/etc/ssh
/etc/
/etc/motd -> /.statelite/tmpfs/etc/motd
/etc/ssh -> /.statelite/tmpfs/etc/ssh
/var/
/var/new -> /.statelite/tmpfs/var/new`
	if got := tree(t, root); got != want {
		t.Errorf("after the first run:\n%s\nwant\n%s", got, want)
	}
	if strings.Join(res.Prepared, " ") != "/etc/motd /etc/ssh /var/new" {
		t.Errorf("prepared %v", res.Prepared)
	}
	res, err = Prepare(root, []Rule{rule("/etc/motd"), rule("/etc/ssh/"), rule("/var/new")})
	if err != nil || len(res.Kept) != 3 || len(res.Prepared) != 0 {
		t.Fatalf("second run: %+v, %v", res, err)
	}
	if got := tree(t, root); got != want {
		t.Errorf("the second run changed the tree:\n%s", got)
	}
	res, err = Prepare(root, []Rule{rule("/var/new")})
	if err != nil || strings.Join(res.Restored, " ") != "/etc/motd /etc/ssh" {
		t.Fatalf("undo: %+v, %v", res, err)
	}
	if b, err := os.ReadFile(root + "/etc/motd"); err != nil || string(b) != "MOTD" {
		t.Errorf("/etc/motd not put back: %q, %v", b, err)
	}
	if fi, err := os.Lstat(root + "/etc/ssh"); err != nil || !fi.IsDir() {
		t.Errorf("/etc/ssh not put back as a folder: %v", err)
	}
}

// TestPrepareRefusesFolderMismatch: the tree is left untouched.
func TestPrepareRefusesFolderMismatch(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(root+"/etc/ssh", 0o755)
	os.WriteFile(root+"/etc/motd", []byte("MOTD"), 0o644)
	before := tree(t, root)
	for _, tc := range []struct {
		rule, want string
	}{
		{"/etc/ssh", "cluster.yaml:7: litefile /etc/ssh: the image has a folder there: write the rule as /etc/ssh/"},
		{"/etc/motd/", "cluster.yaml:7: litefile /etc/motd/: the image has a file there, not a folder: write the rule without the trailing /"},
		{"etc/motd", `cluster.yaml:7: litefile etc/motd: path "etc/motd": want an absolute path`},
	} {
		_, err := Prepare(root, []Rule{rule("/etc/motd"), rule(tc.rule)})
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("rule %s: err = %v, want %s", tc.rule, err, tc.want)
		}
		if got := tree(t, root); got != before {
			t.Errorf("rule %s: the tree changed:\n%s", tc.rule, got)
		}
	}
}
