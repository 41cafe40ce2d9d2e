package imagepack

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// packMksquashfs runs squashfs-tools' mksquashfs (keeps owners, hard
// links and xattrs). Progress: one report when done.
func packMksquashfs(ctx context.Context, src, out string, opt Options, tot Progress) error {
	comp := opt.Compression
	if comp == "" {
		comp = "zstd"
	}
	args := []string{src, out, "-noappend", "-quiet", "-no-progress", "-comp", comp}
	if opt.Level != 0 && comp != "xz" {
		args = append(args, "-Xcompression-level", strconv.Itoa(opt.Level))
	}
	b, err := exec.CommandContext(ctx, "mksquashfs", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mksquashfs %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	if opt.Progress != nil {
		p := tot
		p.Phase, p.Files, p.Bytes = "compress", tot.FilesTotal, tot.BytesTotal
		opt.Progress(p)
	}
	return nil
}
