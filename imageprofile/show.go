package imageprofile

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Write prints r as "field value" lines; with blame each line ends with
// the profile:line it came from (nodels --blame for images).
func (r *Resolved) Write(w io.Writer, blame bool) error {
	bw := bufio.NewWriter(w)
	line := func(field, value string, from From) {
		if blame {
			fmt.Fprintf(bw, "%-12s %-48s %s\n", field, value, from)
		} else {
			fmt.Fprintf(bw, "%-12s %s\n", field, value)
		}
	}
	line("profile", r.Name, From{Profile: r.Name})
	line("chain", strings.Join(r.Chain, " -> "), From{Profile: r.Name})
	line("suite", r.Suite.Value, r.Suite.From)
	line("mirror", r.Mirror.Value, r.Mirror.From)
	line("variant", r.Variant.Value, r.Variant.From)
	line("diskful", r.Diskful.Value, r.Diskful.From)
	if r.IsDiskful() {
		line("kernel", r.Kernel.Value, r.Kernel.From)
	}
	for _, e := range r.Packages {
		line("package", e.Value, e.From)
	}
	for _, e := range r.Exclude {
		line("exclude", e.Value, e.From)
	}
	for _, f := range r.Files {
		line("file", fmt.Sprintf("%s %04o %s <- %s", f.Dest, f.Mode, f.Owner, f.Src), f.From)
	}
	for _, e := range r.Postinstall {
		line("postinstall", e.Value, e.From)
	}
	for _, e := range r.Postscripts {
		line("postscript", filepath.Base(e.Value)+" <- "+e.Value, e.From)
	}
	return bw.Flush()
}
