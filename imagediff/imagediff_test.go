package imagediff

import (
	"bytes"
	"strings"
	"testing"
)

const listingA = `drwxr-xr-x 0/0                     103 2024-01-01 00:00 
drwxr-xr-x 0/0                      48 2024-01-01 00:00 /usr/bin
-rwxr-xr-x 0/0                   14336 2024-01-01 00:00 /usr/bin/true
lrwxrwxrwx 0/0                       7 2024-01-01 00:00 /bin -> usr/bin
-rw-r--r-- 0/0                    1000 2024-01-01 00:00 /var/lib/dpkg/status
-rw-r--r-- 0/0                      10 2024-01-01 00:00 /etc/a file with spaces
crw-rw-rw- 0/0                     1,3 2024-01-01 00:00 /dev/null
`

const listingB = `drwxr-xr-x 0/0                     103 2024-01-01 00:00 
drwxr-xr-x 0/0                      60 2024-01-01 00:00 /usr/bin
-rwxr-xr-x 0/0                   14336 2024-01-01 00:00 /usr/bin/true
-rwxr-xr-x 0/0                   27000 2024-01-01 00:00 /usr/bin/hello
lrwxrwxrwx 0/0                       7 2024-01-01 00:00 /bin -> usr/bin
-rw-r--r-- 0/0                    1200 2024-01-01 00:00 /var/lib/dpkg/status
crw-rw-rw- 0/0                     1,3 2024-01-01 00:00 /dev/null
`

func TestParseListing(t *testing.T) {
	m := ParseListing([]byte(listingA))
	if len(m) != 6 {
		t.Errorf("entries = %d: %v", len(m), m)
	}
	if e := m["/bin"]; e.Target != "usr/bin" {
		t.Errorf("/bin = %+v", e)
	}
	if _, ok := m["/etc/a file with spaces"]; !ok {
		t.Errorf("path with spaces lost: %v", m)
	}
	if e := m["/usr/bin"]; e.Size != "" {
		t.Errorf("a folder's size is compared: %+v", e)
	}
}

func TestParseStatus(t *testing.T) {
	st := "Package: a\nStatus: install ok installed\nVersion: 1\n\nPackage: b\nStatus: deinstall ok config-files\nVersion: 2\n\nPackage: c\nVersion: 3:1.0-1\nStatus: install ok installed\n"
	got := ParseStatus([]byte(st))
	if len(got) != 2 || got["a"] != "1" || got["c"] != "3:1.0-1" {
		t.Errorf("ParseStatus = %v", got)
	}
}

func TestDiff(t *testing.T) {
	a := &Contents{Packages: map[string]string{"coreutils": "9.1-1", "old": "1"}, Files: ParseListing([]byte(listingA)), Owner: map[string]string{"/usr/bin/true": "coreutils"}}
	b := &Contents{Packages: map[string]string{"coreutils": "9.1-2", "hello": "2.10-3"}, Files: ParseListing([]byte(listingB)), Owner: map[string]string{"/usr/bin/true": "coreutils", "/usr/bin/hello": "hello"}}
	var out bytes.Buffer
	if err := Diff(a, b).Write(&out); err != nil {
		t.Fatal(err)
	}
	want := `packages: 3 difference(s)
  ~ coreutils 9.1-1 -> 9.1-2
  + hello 2.10-3
  - old 1
files: 3 difference(s)
  - /etc/a file with spaces
  + /usr/bin/hello (hello)
  ~ /var/lib/dpkg/status: -rw-r--r-- 0/0 1000 -> -rw-r--r-- 0/0 1200
`
	if out.String() != want {
		t.Errorf("diff:\n%s\nwant:\n%s", out.String(), want)
	}
	if strings.Contains(out.String(), "/usr/bin (") || strings.Contains(out.String(), "~ /usr/bin:") {
		t.Errorf("a folder whose size changed is listed")
	}
}
