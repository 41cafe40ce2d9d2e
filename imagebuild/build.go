package imagebuild

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/imagepack"
	"github.com/disklesstrap/disklesstrap/imageprofile"
)

// DefaultEpoch is SOURCE_DATE_EPOCH when neither the caller nor the
// environment sets one (2024-01-01T00:00:00Z): every time in the image.
const DefaultEpoch = 1704067200

// PackLevel is the zstd level of the squashfs: 6 packs several times
// faster than mksquashfs's default 15 for a few percent more bytes.
const PackLevel = 6

// Options of a build.
type Options struct {
	// Name is the image name (default: the profile's).
	Name string
	// Work is the build folder: root/ (the tree), NAME.squashfs, and
	// NAME.build.log, kept beside the image.
	Work string
	// Cache keeps downloaded .debs between builds ("" : no cache).
	Cache string
	// Layers keeps package layers between builds (default WORK/layers):
	// see Layer.
	Layers string
	// Fetch reads the mirror's InRelease (default FetchRelease).
	Fetch func(ctx context.Context, url string) ([]byte, error)
	// Epoch is SOURCE_DATE_EPOCH (0: $SOURCE_DATE_EPOCH, else DefaultEpoch).
	Epoch int64
	// Runner runs commands (default ExecRunner).
	Runner Runner
	// Stage, if set, is told when each step starts and ends (err nil
	// when it worked) for a progress display.
	Stage func(i, n int, s Step, done bool, took time.Duration, err error)
	// Pack, if set, receives the packing progress.
	Pack func(imagepack.Progress)
}

// Result of a build.
type Result struct {
	Image   *imagepack.Info
	Log     string // the build log's path
	Root    string // the built tree
	Profile api.ImageProfile
	Steps   []StepTime
}

// StepTime is how long a step took.
type StepTime struct {
	Name string
	Took time.Duration
}

type build struct {
	opt         Options
	resolved    *imageprofile.Resolved
	root        string
	log         io.Writer
	profileJSON []byte
	layers      []Layer  // below the image, keyed by the mirror step
	leaf        []string // the image's own packages, installed on the top layer
	from        int      // the highest cached layer (-1: none)
}

func newBuild(r *imageprofile.Resolved, opt Options) *build {
	if opt.Layers == "" {
		opt.Layers = filepath.Join(opt.Work, "layers")
	}
	b := &build{opt: opt, resolved: r, root: filepath.Join(opt.Work, "root"), from: -1}
	b.layers, b.leaf = splitLayers(r)
	return b
}

func (b *build) env() []string {
	return []string{"SOURCE_DATE_EPOCH=" + strconv.FormatInt(b.opt.Epoch, 10), "LC_ALL=C.UTF-8", "DEBIAN_FRONTEND=noninteractive", "TZ=UTC"}
}

// Profile converts a resolved profile into the record kept with the image.
func Profile(r *imageprofile.Resolved) api.ImageProfile {
	p := api.ImageProfile{
		Name: r.Name, Chain: r.Chain, Suite: r.Suite.Value, Mirror: r.Mirror.Value, Variant: r.Variant.Value,
		Packages: r.PackageNames(), Postscripts: r.PostscriptNames(),
	}
	if r.IsDiskful() {
		p.Diskful, p.Kernel = true, r.Kernel.Value
	}
	for _, e := range r.Exclude {
		p.Exclude = append(p.Exclude, e.Value)
	}
	for _, f := range r.Files {
		p.Files = append(p.Files, fmt.Sprintf("%s %04o %s (%s)", f.Dest, f.Mode, f.Owner, f.From.Profile))
	}
	for _, e := range r.Postinstall {
		p.Postinstall = append(p.Postinstall, e.From.Profile+"/"+filepath.Base(e.Value))
	}
	return p
}

// Plan returns the steps Build would run, for printing.
func Plan(r *imageprofile.Resolved, opt Options) []Step {
	return steps(newBuild(r, opt))
}

// Build builds r's image in opt.Work. It needs root (mmdebstrap's root
// mode where user namespaces are not available, chroot, file owners).
func Build(ctx context.Context, r *imageprofile.Resolved, opt Options) (*Result, error) {
	if opt.Runner == nil {
		opt.Runner = ExecRunner{}
		if os.Geteuid() != 0 {
			return nil, errNoRoot
		}
	}
	if opt.Name == "" {
		opt.Name = r.Name
	}
	if opt.Fetch == nil {
		opt.Fetch = FetchRelease
	}
	if opt.Epoch == 0 {
		if e, err := strconv.ParseInt(os.Getenv("SOURCE_DATE_EPOCH"), 10, 64); err == nil && e > 0 {
			opt.Epoch = e
		} else {
			opt.Epoch = DefaultEpoch
		}
	}
	if strings.ContainsAny(opt.Cache+opt.Layers, " \t\n'\"") {
		return nil, fmt.Errorf("package cache %q, layer cache %q: no spaces or quotes in the paths (mmdebstrap hooks)", opt.Cache, opt.Layers)
	}
	if opt.Cache != "" {
		if err := os.MkdirAll(opt.Cache, 0o755); err != nil {
			return nil, fmt.Errorf("package cache: %w", err)
		}
	}
	if err := os.MkdirAll(opt.Work, 0o755); err != nil {
		return nil, fmt.Errorf("build folder: %w", err)
	}
	logPath := filepath.Join(opt.Work, opt.Name+".build.log")
	lf, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("build log: %w", err)
	}
	defer lf.Close()
	prof := Profile(r)
	pj, _ := json.MarshalIndent(prof, "", "  ")
	b := newBuild(r, opt)
	b.log, b.profileJSON = lf, append(pj, '\n')
	res := &Result{Log: logPath, Root: b.root, Profile: prof}
	fmt.Fprintf(lf, "image build %s from profile %s (chain %s), SOURCE_DATE_EPOCH=%d\n", opt.Name, r.Name, strings.Join(r.Chain, " -> "), opt.Epoch)
	all := steps(b)
	for i, s := range all {
		fmt.Fprintf(lf, "\n== step %d/%d %s: %s\n", i+1, len(all)+1, s.Name, s.Desc)
		if opt.Stage != nil {
			opt.Stage(i, len(all)+1, s, false, 0, nil)
		}
		start := time.Now()
		err := s.Run(b, ctx)
		took := time.Since(start)
		if opt.Stage != nil {
			opt.Stage(i, len(all)+1, s, true, took, err)
		}
		fmt.Fprintf(lf, "== %s: %s\n", s.Name, took.Round(time.Millisecond))
		if err != nil {
			fmt.Fprintf(lf, "FAILED: %v\n", err)
			return res, fmt.Errorf("image build %s: step %s: %w (log: %s)", opt.Name, s.Name, err, logPath)
		}
		res.Steps = append(res.Steps, StepTime{s.Name, took})
	}
	pack := Step{Name: "pack", Desc: fmt.Sprintf("mksquashfs (zstd -%d, sorted, all times %d)", PackLevel, opt.Epoch)}
	fmt.Fprintf(lf, "\n== step %d/%d pack: %s\n", len(all)+1, len(all)+1, pack.Desc)
	if opt.Stage != nil {
		opt.Stage(len(all), len(all)+1, pack, false, 0, nil)
	}
	start := time.Now()
	info, err := imagepack.Pack(ctx, b.root, filepath.Join(opt.Work, opt.Name+".squashfs"), imagepack.Options{
		Name: opt.Name, Format: imagepack.FormatSquashfs, Tool: "mksquashfs", Level: PackLevel, SourceDateEpoch: opt.Epoch, Progress: opt.Pack,
	})
	took := time.Since(start)
	if opt.Stage != nil {
		opt.Stage(len(all), len(all)+1, pack, true, took, err)
	}
	if err != nil {
		fmt.Fprintf(lf, "FAILED: %v\n", err)
		return res, fmt.Errorf("image build %s: pack: %w (log: %s)", opt.Name, err, logPath)
	}
	res.Steps = append(res.Steps, StepTime{"pack", took})
	res.Image = info
	pruneLayers(b.opt.Layers, KeepLayers, lf)
	fmt.Fprintf(lf, "== pack: %s\nimage %s: %d bytes, %d files, sha256 %s\n", took.Round(time.Millisecond), info.Path, info.Size, info.Files, info.SHA256)
	return res, nil
}
