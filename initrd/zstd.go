package initrd

import (
	"io"

	"github.com/klauspost/compress/zstd"
)

// newZstdWriter compresses an image for the kernel's unzstd: one frame,
// an 8 MiB window (the kernel allocates the window it is told), the best
// ratio, one goroutine so the output is the same on every machine.
func newZstdWriter(w io.Writer) (io.WriteCloser, error) {
	return zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(8<<20), zstd.WithEncoderCRC(true))
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
