package rawdisk

import (
	"context"
	"crypto/aes"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"golang.org/x/crypto/xts"
)

// chunkSize is the unit of work of the payload encryption (a multiple of
// SectorSize).
const chunkSize = MiB

// encryptPayload encrypts plain into out at offset with AES-XTS-plain64:
// each 512-byte sector n (counted from the payload start) is encrypted
// with tweak n, little-endian — dm-crypt's plain64 IV. Chunks of a MiB
// are read, encrypted and written by opts.Workers goroutines with
// positioned I/O (pread/pwrite), so their order does not matter.
func encryptPayload(ctx context.Context, plain, out string, key []byte, offset int64, opts LUKSOptions) error {
	c, err := xts.NewCipher(aes.NewCipher, key) // safe for concurrent use
	if err != nil {
		return err
	}
	in, err := os.Open(plain)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	total := st.Size()
	if total%SectorSize != 0 {
		return fmt.Errorf("rawdisk: %s: size %d is not a multiple of %d", plain, total, SectorSize)
	}
	o, err := os.OpenFile(out, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	chunks := (total + chunkSize - 1) / chunkSize
	workers = int(min(int64(workers), max(chunks, 1)))

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu       sync.Mutex
		next     int64 // next chunk to claim
		done     int64 // bytes encrypted
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	claim := func() (int64, bool) {
		mu.Lock()
		defer mu.Unlock()
		if next >= chunks || firstErr != nil {
			return 0, false
		}
		next++
		return next - 1, true
	}
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, chunkSize)
			enc := make([]byte, chunkSize)
			for {
				k, ok := claim()
				if !ok {
					return
				}
				if err := ctx.Err(); err != nil {
					fail(fmt.Errorf("rawdisk: encrypt %s: %w", plain, err))
					return
				}
				pos := k * chunkSize
				n := int(min(chunkSize, total-pos))
				if _, err := in.ReadAt(buf[:n], pos); err != nil && !(err == io.EOF && n == 0) {
					fail(fmt.Errorf("rawdisk: read %s at %d: %w", plain, pos, err))
					return
				}
				for s := 0; s < n; s += SectorSize {
					c.Encrypt(enc[s:s+SectorSize], buf[s:s+SectorSize], uint64((pos+int64(s))/SectorSize))
				}
				if _, err := o.WriteAt(enc[:n], offset+pos); err != nil {
					fail(fmt.Errorf("rawdisk: write %s: %w", out, err))
					return
				}
				mu.Lock()
				done += int64(n)
				if opts.Progress != nil && firstErr == nil {
					opts.Progress(done, total)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	cerr := o.Close()
	if firstErr != nil {
		return firstErr
	}
	if cerr != nil {
		return fmt.Errorf("rawdisk: close %s: %w", out, cerr)
	}
	return nil
}
