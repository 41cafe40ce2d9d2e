package inventory

import (
	"strings"
	"testing"
)

// TestCheckLiteImages: folder rules are checked against the images
// statelite nodes boot from the registry and the images per-image rules
// name; nfsroot nodes' images and unreadable images are not.
func TestCheckLiteImages(t *testing.T) {
	const in = `litefile:
  - path: /etc/ssh
  - path: /var/log/
  - path: /etc/motd
  - path: /opt/app
    image: gpu
groups:
  - name: lite
    mode: statelite
nodes:
  - name: cn1
    groups: [lite]
    image: base
  - name: cn2
    groups: [lite]
    image: nfsonly
    nfsroot: "198.18.0.9:/roots/nfsonly"
  - name: cn3
    image: ramonly
`
	c, err := Parse("cluster.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]map[string]string{
		"base":    {"/etc/ssh": "dir", "/var/log/": "dir", "/etc/motd": "file"},
		"gpu":     {"/etc/ssh": "file", "/var/log/": "file", "/opt/app": "dir"},
		"nfsonly": {"/etc/ssh": "dir"},
		"ramonly": {"/etc/ssh": "dir"},
	}
	var asked []string
	kinds := func(image string, paths []string) (map[string]string, bool) {
		asked = append(asked, image+" "+strings.Join(paths, ","))
		k, ok := images[image]
		return k, ok
	}
	err = c.CheckLiteImages(kinds)
	want := []string{
		"cluster.yaml:2: litefile[0].path: litefile /etc/ssh: image base has a folder there: write the rule as /etc/ssh/",
		"cluster.yaml:5: litefile[3].path: litefile /opt/app: image gpu has a folder there: write the rule as /opt/app/",
		"cluster.yaml:3: litefile[1].path: litefile /var/log/: image gpu has a file there, not a folder: write the rule without the trailing /",
	}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("CheckLiteImages =\n%v\nwant\n%s", err, strings.Join(want, "\n"))
	}
	if got := strings.Join(asked, "; "); got != "base /etc/motd,/etc/ssh,/var/log/; gpu /etc/motd,/etc/ssh,/opt/app,/var/log/" {
		t.Errorf("images asked: %s", got)
	}
	images["base"]["/etc/ssh"] = ""
	delete(images, "gpu") // not in the registry: not checked
	if err := c.CheckLiteImages(kinds); err != nil {
		t.Errorf("CheckLiteImages with fitting images = %v", err)
	}
}
