package install

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/hwinfo"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// Choose picks the disk sel names among disks and says why. Removable and
// read-only disks never match a size rule; a by-id/by-path/serial
// selector must match exactly one disk.
func Choose(sel manifest.DiskSelector, disks []manifest.HardwareDisk) (manifest.HardwareDisk, string, error) {
	var none manifest.HardwareDisk
	var match []manifest.HardwareDisk
	switch sel.Kind {
	case "serial", "by-id", "by-path":
		for _, d := range disks {
			var names []string
			switch sel.Kind {
			case "serial":
				names = []string{d.Serial}
			case "by-id":
				names = d.ByID
			case "by-path":
				names = d.ByPath
			}
			if slices.Contains(names, sel.Value) {
				match = append(match, d)
			}
		}
		switch len(match) {
		case 0:
			return none, "", fmt.Errorf("install disk %s: no disk matches (disks: %s)", sel, DiskList(disks))
		case 1:
			d := match[0]
			return d, fmt.Sprintf("%s matches %s", sel, Describe(d)), nil
		}
		return none, "", fmt.Errorf("install disk %s: %d disks match (%s); name one", sel, len(match), DiskList(match))
	case "size":
		var skipped []string
		for _, d := range disks {
			switch {
			case d.Removable:
				skipped = append(skipped, d.Name+" removable")
			case d.ReadOnly:
				skipped = append(skipped, d.Name+" read-only")
			case d.Bytes < sel.MinBytes:
				skipped = append(skipped, fmt.Sprintf("%s %s < %s", d.Name, human(d.Bytes), manifest.FormatSize(sel.MinBytes)))
			default:
				match = append(match, d)
			}
		}
		if len(match) == 0 {
			return none, "", fmt.Errorf("install disk %s: no disk qualifies (%s)", sel, orNone(skipped))
		}
		// Ties go to the lower kernel name: stable for one boot, and the
		// admin sees which was taken.
		sort.SliceStable(match, func(i, j int) bool {
			if match[i].Bytes != match[j].Bytes {
				return (match[i].Bytes < match[j].Bytes) != sel.Largest
			}
			return match[i].Name < match[j].Name
		})
		d := match[0]
		why := fmt.Sprintf("%s: %s of %d qualifying disk(s)", sel, Describe(d), len(match))
		if len(match) > 1 {
			var others []string
			for _, o := range match[1:] {
				others = append(others, o.Name+" "+human(o.Bytes))
			}
			why += " (also " + strings.Join(others, ", ") + ")"
		}
		if len(skipped) > 0 {
			why += "; not: " + strings.Join(skipped, ", ")
		}
		return d, why, nil
	}
	return none, "", fmt.Errorf("install disk: selector kind %q unknown", sel.Kind)
}

// Describe is one disk as the admin identifies it.
func Describe(d manifest.HardwareDisk) string {
	parts := []string{"/dev/" + d.Name, human(d.Bytes)}
	if d.Model != "" {
		parts = append(parts, "model "+d.Model)
	}
	if d.Serial != "" {
		parts = append(parts, "serial "+d.Serial)
	}
	if len(d.ByPath) > 0 {
		parts = append(parts, "by-path "+d.ByPath[0])
	}
	return strings.Join(parts, ", ")
}

// DiskList names the disks briefly.
func DiskList(disks []manifest.HardwareDisk) string {
	var s []string
	for _, d := range disks {
		e := d.Name + " " + human(d.Bytes)
		if d.Serial != "" {
			e += " serial " + d.Serial
		}
		s = append(s, e)
	}
	return orNone(s)
}

// Contents says what is on a disk ("partitions vda1 vda2, signatures gpt"),
// "" for a blank one.
func Contents(d manifest.HardwareDisk) string {
	var s []string
	if len(d.Partitions) > 0 {
		s = append(s, "partitions "+strings.Join(d.Partitions, " "))
	}
	if len(d.Signatures) > 0 {
		s = append(s, "signatures "+strings.Join(d.Signatures, " "))
	}
	return strings.Join(s, ", ")
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, "; ")
}

func human(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%d B", n)
}

// Prober lists the node's disks (hwinfo.Disks on a node; a fixture in
// tests). Root is the Root of the step.
type Prober func(root string) []manifest.HardwareDisk

func probe(p Prober, root string) []manifest.HardwareDisk {
	if p == nil {
		p = hwinfo.Disks
	}
	if root == "" {
		root = "/"
	}
	return p(root)
}

// DiskStep is the "install disk" step: pick the disk by the node's rule
// and say why (log and a progress event). It changes nothing.
type DiskStep struct {
	Selector manifest.DiskSelector
	Probe    Prober
	Root     string
}

// Name implements plan.Step.
func (s *DiskStep) Name() string { return "install disk" }

// String implements plan.Step.
func (s *DiskStep) String() string { return "choose the disk: " + s.Selector.String() }

// Run implements plan.Step.
func (s *DiskStep) Run(ctx context.Context, env *plan.Env) error {
	d, why, err := Choose(s.Selector, probe(s.Probe, s.Root))
	if err != nil {
		return err
	}
	msg := "install disk /dev/" + d.Name + ": " + why
	if c := Contents(d); c != "" {
		msg += "; holds " + c
	}
	env.Logger().Info(msg)
	progress(env, s.Name(), msg, map[string]string{"disk": "/dev/" + d.Name})
	return nil
}

func progress(env *plan.Env, step, msg string, data map[string]string) {
	if env.Report == nil {
		return
	}
	if data == nil {
		data = map[string]string{}
	}
	data["step"] = step
	node := ""
	if env.Manifest != nil {
		node = env.Manifest.Node
	}
	env.Report(manifest.Event{Node: node, Phase: manifest.PhaseProgress, Message: msg, Data: data})
}
