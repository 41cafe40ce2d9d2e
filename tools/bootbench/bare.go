package main

import (
	"fmt"
	"os"

	"github.com/klauspost/compress/zstd"
	"github.com/u-root/u-root/pkg/cpio"
)

// bareMarker is what the bare initramfs's /init prints on the console.
const bareMarker = "DT-BARE-INIT-READY"

// bareInit is the bare initramfs's /init: print the marker with the
// kernel's uptime (its kernel start to /init), then idle (PID 1 must not
// exit).
const bareInit = "#!/bin/busybox sh\n/bin/busybox mkdir -p /proc\n/bin/busybox mount -t proc proc /proc\n" +
	"/bin/busybox echo " + bareMarker + " uptime=$(/bin/busybox cut -d' ' -f1 /proc/uptime)\nexec /bin/busybox sleep 86400\n"

// writeBareInitramfs writes a zstd newc initramfs with static busybox, a
// /dev/console and bareInit as /init: the baseline a trap boot is
// compared with (same kernel, same bootsrv, same compression as the trap's default).
func writeBareInitramfs(busybox, out string) error {
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return fmt.Errorf("bare initramfs: %w (package busybox-static)", err)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	zw, err := zstd.NewWriter(f, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(8<<20))
	if err != nil {
		f.Close()
		return err
	}
	w := cpio.Newc.Writer(zw)
	recs := []cpio.Record{
		cpio.Directory("bin", 0o755),
		cpio.Directory("dev", 0o755),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.StaticRecord(bb, cpio.Info{Name: "bin/busybox", Mode: cpio.S_IFREG | 0o755}),
		cpio.StaticFile("init", bareInit, 0o755),
	}
	cpio.MakeAllReproducible(recs)
	err = cpio.WriteRecordsAndDirs(w, recs)
	if err == nil {
		err = cpio.WriteTrailer(w)
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bare initramfs %s: %w", out, err)
	}
	return nil
}
