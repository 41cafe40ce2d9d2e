package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/client"
	"github.com/disklesstrap/disklesstrap/imagebuild"
	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/imageprofile"
)

var imageBuildOpts struct {
	name, profiles, work, cache, layers string
	epoch                               int64
	replace, dryRun                     bool
}

// defaultProfiles is where profiles are looked up: $DT_PROFILES, else
// images/profiles under the current folder.
func defaultProfiles() string {
	if d := os.Getenv("DT_PROFILES"); d != "" {
		return d
	}
	return filepath.Join("images", "profiles")
}

// defaultCache is the .deb cache: $DT_CACHE/apt-archives, else
// /var/cache/disklesstrap/apt-archives.
func defaultCache() string {
	if d := os.Getenv("DT_CACHE"); d != "" {
		return filepath.Join(d, "apt-archives")
	}
	return "/var/cache/disklesstrap/apt-archives"
}

// defaultLayers is the package layer cache: $DT_CACHE/image-layers, else
// /var/cache/disklesstrap/image-layers.
func defaultLayers() string {
	if d := os.Getenv("DT_CACHE"); d != "" {
		return filepath.Join(d, "image-layers")
	}
	return "/var/cache/disklesstrap/image-layers"
}

var imageBuild = &command{
	name: "image build", args: "PROFILE [--name NAME]", summary: "build an OS image from a profile chain (mmdebstrap), pack and upload it",
	help: `Resolves PROFILE's inheritance chain (--profiles), builds the Debian root
in package layers (the parents' packages: mmdebstrap, each layer cached
in --layers under the hash of what determines it, mirror state included;
the profile's own packages installed with apt on a copy of the top layer
in every build), with .debs cached in --cache, applies synced files,
postinstall scripts (base first), the first-boot unit with the postscripts,
and exclusions; removes per-node and random state; packs a reproducible
squashfs (every time = SOURCE_DATE_EPOCH) and uploads it with the resolved
profile in its record. The tree, the image, its .torrent and the build log
stay in --work. Nothing is uploaded when a step fails.`,
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		o := &imageBuildOpts
		o.name, o.replace, o.dryRun, o.epoch = "", false, false, 0
		fs.StringVar(&o.name, "name", "", "image name (default: the profile's)")
		fs.StringVar(&o.profiles, "profiles", defaultProfiles(), "profile folder ($DT_PROFILES)")
		fs.StringVar(&o.work, "work", "", "build folder (default /var/tmp/disklesstrap-build/NAME)")
		fs.StringVar(&o.cache, "cache", defaultCache(), "downloaded .deb cache (\"\": none)")
		fs.StringVar(&o.layers, "layers", defaultLayers(), "package layer cache (\"\": WORK/layers)")
		fs.Int64Var(&o.epoch, "epoch", 0, "SOURCE_DATE_EPOCH of the image (default $SOURCE_DATE_EPOCH, else 2024-01-01)")
		fs.BoolVar(&o.replace, "replace", false, "replace an existing image of the same name")
		fs.BoolVar(&o.dryRun, "dry-run", false, "print the resolved chain and the steps, build nothing")
	},
	run: runImageBuild,
}

func runImageBuild(e *env, args []string) error {
	o := &imageBuildOpts
	set := imageprofile.Open(o.profiles)
	r, err := set.Resolve(args[0])
	if err != nil {
		return err
	}
	name := o.name
	if name == "" {
		name = r.Name
	}
	work := o.work
	if work == "" {
		work = filepath.Join("/var/tmp/disklesstrap-build", name)
	}
	bopt := imagebuild.Options{Name: name, Work: work, Cache: o.cache, Layers: o.layers, Epoch: o.epoch}
	if o.dryRun {
		fmt.Fprintf(e.stdout, "image %s from profile %s (chain %s)\n", name, r.Name, strings.Join(r.Chain, " -> "))
		for i, s := range imagebuild.Plan(r, bopt) {
			fmt.Fprintf(e.stdout, "%2d. %s: %s\n", i+1, s.Name, s.Desc)
		}
		return nil
	}
	if !o.replace {
		if _, err := e.client().Image(e.ctx, name); err == nil {
			return fmt.Errorf("image %s already exists on %s: build with --replace, or choose another --name", name, e.server)
		} else if !client.IsNotFound(err) {
			return err
		}
	}
	fmt.Fprintf(e.stderr, "image build %s: profile chain %s, %d packages, %s %s\n", name, strings.Join(r.Chain, " -> "), len(r.Packages), r.Suite.Value, r.Mirror.Value)
	bar := imagepack.NewBar(e.stderr)
	bopt.Stage = func(i, n int, s imagebuild.Step, done bool, took time.Duration, err error) {
		switch {
		case !done:
			fmt.Fprintf(e.stderr, "[%d/%d] %s: %s ...\n", i+1, n, s.Name, s.Desc)
		case err != nil:
			fmt.Fprintf(e.stderr, "[%d/%d] %s FAILED after %s\n", i+1, n, s.Name, round(took))
		default:
			fmt.Fprintf(e.stderr, "[%d/%d] %s done in %s\n", i+1, n, s.Name, round(took))
		}
	}
	bopt.Pack = bar.Update
	start := time.Now()
	res, err := imagebuild.Build(e.ctx, r, bopt)
	if err != nil {
		return err
	}
	bar.Done(res.Image)
	built := time.Since(start)
	f, err := os.Open(res.Image.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	prof := res.Profile
	host, _ := os.Hostname()
	img, err := e.client().UploadImage(e.ctx, client.ImageUpload{
		Name: name, Format: res.Image.Format, SHA256: res.Image.SHA256, Size: res.Image.Size, Files: res.Image.Files,
		Source:  fmt.Sprintf("built from profile %s (%s) in %s on %s", r.Name, strings.Join(r.Chain, " -> "), work, host),
		Replace: o.replace, Profile: &prof,
	}, f)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "built in %s (log %s)\n", round(built), res.Log)
	if e.output == "json" {
		return writeJSON(e.stdout, img)
	}
	fmt.Fprintf(e.stdout, "uploaded image %s: %s, %s, %d files, sha256 %s\n", img.Name, img.Format, humanBytes(img.Size), img.Files, img.SHA256)
	fmt.Fprintf(e.stdout, "build log %s\n", res.Log)
	if img.InfoHash != "" {
		return writeTorrent(e, img.Name, res.Image.Path+".torrent")
	}
	return nil
}

var imageProfileBlame bool

var imageProfileShow = &command{
	name: "image profile show", args: "NAME [--blame]", summary: "show a profile resolved through its inheritance chain",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		fs.BoolVar(&imageProfileBlame, "blame", false, "show the profile (and line) each entry came from")
		fs.StringVar(&imageBuildOpts.profiles, "profiles", defaultProfiles(), "profile folder ($DT_PROFILES)")
	},
	run: func(e *env, args []string) error {
		r, err := imageprofile.Open(imageBuildOpts.profiles).Resolve(args[0])
		if err != nil {
			return err
		}
		if e.output == "json" {
			return writeJSON(e.stdout, r)
		}
		return r.Write(e.stdout, imageProfileBlame)
	},
}
