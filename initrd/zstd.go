package initrd

import (
	"bytes"
	"fmt"
	"io"
	"os/exec"

	"github.com/klauspost/compress/zstd"
)

// zstdCLILevel is the level the zstd program compresses images with.
// Measured on the 28 MB trap image: -9 gives 9.41 MB in 0.7 s, as small as
// the Go encoder's best level (9.38 MB in 6 s); -19 gives 8.36 MB but takes
// 13 s, which would cost the builder its lead over dracut for ~1 MB less
// to download per boot. Its window is 8 MiB (the kernel's unzstd
// allocates the window the frame asks for).
const zstdCLILevel = "-9"

// newZstdWriter compresses an image for the kernel's unzstd, one frame:
// through the zstd program when the host has it (one thread, so the
// output depends only on the input and the zstd version), else with the
// Go encoder's best level, one goroutine, an 8 MiB window.
func newZstdWriter(w io.Writer) (io.WriteCloser, error) {
	if path, err := exec.LookPath("zstd"); err == nil {
		return startZstdCLI(path, w)
	}
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(8<<20), zstd.WithEncoderCRC(true))
}

// zstdCLI is a running `zstd -9 -T1 -c`: writes go to its stdin.
type zstdCLI struct {
	io.WriteCloser // stdin
	cmd            *exec.Cmd
	stderr         *bytes.Buffer
}

func startZstdCLI(path string, w io.Writer) (io.WriteCloser, error) {
	cmd := exec.Command(path, zstdCLILevel, "-T1", "-q", "-c", "--no-progress")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	return &zstdCLI{WriteCloser: in, cmd: cmd, stderr: &stderr}, nil
}

// Close ends the input and waits for zstd to write the rest.
func (z *zstdCLI) Close() error {
	err := z.WriteCloser.Close()
	if werr := z.cmd.Wait(); werr != nil {
		return fmt.Errorf("zstd: %w: %s", werr, bytes.TrimSpace(z.stderr.Bytes()))
	}
	return err
}

// readZstd decompresses a whole zstd image.
func readZstd(r io.Reader) ([]byte, error) {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	return io.ReadAll(zr)
}
