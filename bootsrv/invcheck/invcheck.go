// Package invcheck checks an inventory file before bootsrv reloads it:
// `bootsrv check --config FILE` and `trapctl inventory check FILE` both run
// Check, which parses the file with inventory.Load, the very function
// bootsrv's start and SIGHUP reload call, and prints every problem on its
// own `file:line: field: message` line. With bootsrv's data folder it
// also checks the litefile rules against the registry's images, as
// bootsrv's start, reload and inventory edits do.
package invcheck

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/disklesstrap/disklesstrap/bootsrv/imagekinds"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
)

// ErrInvalid is returned (wrapped) when the file has problems; they have
// been printed already.
var ErrInvalid = errors.New("inventory has problems")

// Check loads path as a reload would. On success it prints a one-line
// summary to stdout; otherwise every problem, one per line, to stderr,
// and returns an error wrapping ErrInvalid.
func Check(path string, stdout, stderr io.Writer) error {
	return CheckData(path, "", stdout, stderr)
}

// CheckData is Check, then the litefile rules against the image registry
// in dataDir/images (bootsrv's --data folder), when dataDir is set and
// holds one; the summary says whether the images were checked.
func CheckData(path, dataDir string, stdout, stderr io.Writer) error {
	c, err := inventory.Load(path)
	imgNote := ""
	if err == nil && dataDir != "" {
		dir := filepath.Join(dataDir, "images")
		if fi, serr := os.Stat(dir); serr != nil || !fi.IsDir() {
			imgNote = fmt.Sprintf("; litefile rules not checked against images (no registry at %s)", dir)
		} else {
			err = c.CheckLiteImages(imagekinds.For(images.View(dir)))
			imgNote = fmt.Sprintf("; litefile rules checked against the images in %s", dir)
		}
	}
	if err != nil {
		problems := Problems(err)
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		return fmt.Errorf("%s: %w (%d shown; bootsrv would keep its previous inventory)", path, ErrInvalid, len(problems))
	}
	_, err = fmt.Fprintf(stdout, "%s: ok: %d nodes, %d groups, %d networks%s\n",
		path, len(c.Nodes()), len(c.Groups()), len(c.Networks()), imgNote)
	return err
}

// Problems flattens the joined errors inventory.Load returns into lines.
func Problems(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
