package imagepack

import (
	"context"
	"fmt"
	"os"
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
	if opt.SourceDateEpoch > 0 {
		t := strconv.FormatInt(opt.SourceDateEpoch, 10)
		args = append(args, "-all-time", t, "-mkfs-time", t)
	}
	cmd := exec.CommandContext(ctx, "mksquashfs", args...)
	// mksquashfs refuses SOURCE_DATE_EPOCH together with -all-time.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SOURCE_DATE_EPOCH=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	b, err := cmd.CombinedOutput()
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
