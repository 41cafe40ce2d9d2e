package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/imagepack"
)

type imagePackFlags struct {
	name, format, compression, tool, output, tmp string
	torrent                                      string
	level                                        int
	replace                                      bool
}

var imagePackOpts imagePackFlags

var imagePack = &command{
	name: "image pack", args: "DIR --name NAME [flags]", summary: "pack a root folder into an image and upload it to bootsrv",
	help: "Packs DIR into a squashfs (default) or tar / tar.zst image with a progress bar on stderr, then uploads it\n" +
		"with its sha256 (bootsrv refuses bytes that do not match). Nodes use it with `trapctl node set RANGE image=NAME`.",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		o := &imagePackOpts
		*o = imagePackFlags{}
		fs.StringVar(&o.name, "name", "", "image name, [a-z0-9][a-z0-9._-]* (required)")
		fs.StringVar(&o.format, "format", imagepack.FormatSquashfs, "squashfs, tar or tar.zst")
		fs.StringVar(&o.compression, "compression", "", "squashfs compression: gzip (default) or xz; zstd (the default) with --tool mksquashfs")
		fs.IntVar(&o.level, "level", 0, "gzip level 1-9, or tar.zst level 1-4 (default: the packer's)")
		fs.StringVar(&o.tool, "tool", "go", "squashfs packer: go (in-process go-diskfs) or mksquashfs (keeps owners and setuid bits)")
		fs.StringVar(&o.output, "output", "", "keep the packed image in this file (default: a temporary file, removed after the upload)")
		fs.StringVar(&o.tmp, "tmp", "", "folder for the temporary image file (default $TMPDIR)")
		fs.BoolVar(&o.replace, "replace", false, "replace an existing image of the same name")
		fs.StringVar(&o.torrent, "torrent", "", "write the image's .torrent (made by bootsrv; piece size from the image size) to this file\n(default with --output: OUTPUT.torrent)")
	},
	run: runImagePack,
}

func runImagePack(e *env, args []string) error {
	o := &imagePackOpts
	src := args[0]
	if o.name == "" {
		return usagef("image pack: --name is required")
	}
	if err := images.CheckName(o.name); err != nil {
		return usagef("--name: %v", err)
	}
	if err := images.CheckFormat(o.format); err != nil {
		return usagef("--format: %v", err)
	}
	tool := o.tool
	switch tool {
	case "go", "go-diskfs":
		tool = "go-diskfs"
	case "mksquashfs":
	default:
		return usagef("--tool: want go or mksquashfs, got %q", o.tool)
	}
	if o.format != imagepack.FormatSquashfs && (o.compression != "" || o.tool != "go") {
		return usagef("--compression and --tool apply to squashfs only")
	}
	if !o.replace {
		// Fail before a long pack rather than after it.
		if _, err := e.client().Image(e.ctx, o.name); err == nil {
			return fmt.Errorf("image %s already exists on %s: pack with --replace to replace it, or choose another --name", o.name, e.server)
		} else if !client.IsNotFound(err) {
			return err
		}
	}
	abs, err := filepath.Abs(src)
	if err != nil {
		return fmt.Errorf("image pack %s: %w", src, err)
	}
	out := o.output
	if out == "" {
		f, err := os.CreateTemp(o.tmp, ".trapctl-"+o.name+"-*."+o.format)
		if err != nil {
			return fmt.Errorf("image pack: temporary file: %w", err)
		}
		out = f.Name()
		f.Close()
		defer os.Remove(out)
	}
	bar := imagepack.NewBar(e.stderr)
	start := time.Now()
	info, err := imagepack.Pack(e.ctx, src, out, imagepack.Options{
		Name: o.name, Format: o.format, Compression: o.compression, Level: o.level, Tool: tool, Progress: bar.Update,
	})
	bar.Done(info)
	if err != nil {
		return err
	}
	packed := time.Since(start)
	for _, w := range info.Warnings {
		printf(e.stderr, "warning: %s\n", w)
	}
	f, err := os.Open(info.Path)
	if err != nil {
		return fmt.Errorf("image pack: %w", err)
	}
	defer f.Close()
	start = time.Now()
	img, err := e.client().UploadImage(e.ctx, client.ImageUpload{
		Name: info.Name, Format: info.Format, SHA256: info.SHA256, Size: info.Size, Files: info.Files,
		Source: sourceNote(abs, info.Format, o.compression, tool), Replace: o.replace,
	}, f)
	if err != nil {
		return err
	}
	uploaded := time.Since(start)
	printf(e.stderr, "packed in %s, uploaded in %s (%s/s)\n", round(packed), round(uploaded), humanBytes(rate(info.Size, uploaded)))
	if e.output == "json" {
		return writeJSON(e.stdout, img)
	}
	printf(e.stdout, "uploaded image %s: %s, %s, %d files, sha256 %s\n", img.Name, img.Format, humanBytes(img.Size), img.Files, img.SHA256)
	if img.InfoHash != "" {
		printf(e.stdout, "seeded over BitTorrent: infohash %s, %s pieces, %s\n", img.InfoHash, humanBytes(img.PieceLength), img.Torrent)
	}
	if o.output != "" {
		printf(e.stdout, "kept %s\n", o.output)
	}
	torrent := o.torrent
	if torrent == "" && o.output != "" && img.InfoHash != "" {
		torrent = o.output + ".torrent"
	}
	if torrent != "" {
		return writeTorrent(e, img.Name, torrent)
	}
	return nil
}

// sourceNote is the upload's free-form source: "DIR (squashfs zstd,
// go-diskfs) on HOST".
func sourceNote(dir, format, compression, tool string) string {
	how := format
	if format == imagepack.FormatSquashfs {
		if compression == "" {
			compression = "gzip"
			if tool == "mksquashfs" {
				compression = "zstd"
			}
		}
		how += " " + compression + ", " + tool
	}
	host, _ := os.Hostname()
	note := fmt.Sprintf("%s (%s)", dir, how)
	if host != "" {
		note += " on " + host
	}
	return note
}

func round(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// humanBytes: "512B", "1.5KiB", "12.3MiB", "1.2GiB".
func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fKiB", float64(n)/(1<<10))
	}
	return strconv.FormatInt(n, 10) + "B"
}

var imageList = &command{
	name: "image list", args: "", summary: "list the images in bootsrv's registry",
	run: func(e *env, args []string) error {
		imgs, err := e.client().Images(e.ctx)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, imgs)
		}
		t := newTable(e.stdout, "NAME", "FORMAT", "SIZE", "FILES", "CREATED", "USED BY")
		for _, im := range imgs {
			t.row(im.Name, im.Format, humanBytes(im.Size), countString(im.Files), age(e.now(), im.Created), im.UsedBy)
		}
		return t.flush()
	},
}

var imageShow = &command{
	name: "image show", args: "NAME", summary: "show an image's record (sha256, size, source, nodes using it)",
	minArgs: 1, maxArgs: 1,
	run: func(e *env, args []string) error {
		im, err := e.client().Image(e.ctx, args[0])
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, im)
		}
		return imageRows(e, im).write(e.stdout)
	},
}

func imageRows(e *env, im api.Image) *attrRows {
	t := &attrRows{}
	t.add("name", im.Name, "")
	t.add("format", im.Format, "")
	t.add("size", fmt.Sprintf("%s (%d bytes)", humanBytes(im.Size), im.Size), "")
	t.add("sha256", im.SHA256, "")
	t.add("files", countString(im.Files), "")
	t.add("created", im.Created.Format(time.RFC3339)+" ("+age(e.now(), im.Created)+")", "")
	t.add("source", im.Source, "")
	t.add("url", im.URL, "")
	t.add("used by", im.UsedBy, "")
	return t
}

func countString(n int) string {
	if n <= 0 {
		return ""
	}
	return strconv.Itoa(n)
}

var imageDeleteForce bool

var imageDelete = &command{
	name: "image delete", args: "NAME [--force]", summary: "delete an image (--force: even while nodes' image attribute names it)",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&imageDeleteForce, "force", false, "delete even if nodes still use the image")
	},
	run: func(e *env, args []string) error {
		im, err := e.client().DeleteImage(e.ctx, args[0], imageDeleteForce)
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, im)
		}
		msg := "deleted image " + im.Name
		if im.UsedBy != "" {
			msg += " (still named by " + im.UsedBy + ": their next ramroot boot stays in the trap)"
		}
		_, err = printf(e.stdout, "%s\n", msg)
		return err
	},
}
