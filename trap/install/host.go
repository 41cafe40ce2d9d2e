package install

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/trap/hostsys"
	"github.com/disklesstrap/disklesstrap/trap/plan"
	"github.com/disklesstrap/disklesstrap/trap/ramroot"
)

// Host is what the install steps need beyond plan.Sys: ramroot.Host
// (files, mountinfo, tar unpack) plus directory listings and a reboot.
// hostsys.Sys implements it; tests pass a recorder.
type Host interface {
	ramroot.Host
	ReadDir(path string) ([]string, error)
	// CountTree counts the entries under dir, failing on the first one
	// it cannot read.
	CountTree(dir string) (int, error)
	Reboot() error
}

func host(env *plan.Env) Host {
	if h, ok := env.Sys.(Host); ok {
		return h
	}
	return hostsys.Sys{}
}

// NewRoot is where the disk's root is mounted (ramroot's /sysroot).
const NewRoot = ramroot.NewRoot

// mountsUnder lists the mount points at or below dir, parents first,
// with their sources and types.
func mountsUnder(env *plan.Env, dir string) ([]ramroot.Mountinfo, error) {
	b, err := host(env).ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	mi, err := ramroot.ParseMountinfo(b)
	if err != nil {
		return nil, err
	}
	var out []ramroot.Mountinfo
	for _, m := range mi {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, dir+"/") {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].MountPoint) < len(out[j].MountPoint) })
	return out, nil
}

func isMounted(env *plan.Env, dir string) (bool, error) {
	ms, err := mountsUnder(env, dir)
	if err != nil {
		return false, err
	}
	return len(ms) > 0 && ms[0].MountPoint == dir, nil
}

// partDev is partition n of disk ("vda" 3 -> /dev/vda3, "nvme0n1" 1 ->
// /dev/nvme0n1p1).
func partDev(disk string, n int) string {
	if disk != "" && disk[len(disk)-1] >= '0' && disk[len(disk)-1] <= '9' {
		return fmt.Sprintf("/dev/%sp%d", disk, n)
	}
	return fmt.Sprintf("/dev/%s%d", disk, n)
}

// waitExists waits until every path exists (device nodes appear on
// devtmpfs once the kernel has re-read the partition table).
func waitExists(ctx context.Context, env *plan.Env, timeout time.Duration, paths ...string) error {
	deadline := time.Now().Add(timeout)
	for {
		var missing []string
		for _, p := range paths {
			if !host(env).Exists(p) {
				missing = append(missing, p)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", strings.Join(missing, ", "), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// scriptEnv is the environment of the partscript and postscript.
func scriptEnv(disk, node string) []string {
	return []string{"DT_DISK=" + disk, "DT_SYSROOT=" + NewRoot, "DT_NODE=" + node,
		"PATH=/bin:/sbin:/usr/bin:/usr/sbin:/bbin"}
}

var exitRE = regexp.MustCompile(`exit status \d+|signal: \w+`)

// runScript writes the script to file and runs it with /bin/sh under env
// (through `env`, so the Runner seam stays name+args). A failure names the
// script and carries its last output lines.
func runScript(ctx context.Context, env *plan.Env, what, file, script string, vars []string) error {
	if err := env.Sys.MkdirAll(path.Dir(file)); err != nil {
		return err
	}
	if err := env.Sys.WriteFile(file, []byte(script), 0o700); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	args := append(append([]string{}, vars...), "/bin/sh", file)
	out, err := env.Run.Run(ctx, "env", args...)
	if text := strings.TrimSpace(string(out)); text != "" {
		env.Logger().Info(what+" output", "lines", strings.Count(text, "\n")+1, "last", LastLines(text, 3))
	}
	if err != nil {
		status := exitRE.FindString(err.Error())
		if status == "" {
			status = "failed"
		}
		return fmt.Errorf("%s %s (%s); last output lines:\n%s", what, status, strings.Join(vars[:1], " "), LastLines(string(out), 10))
	}
	return nil
}

// LastLines is the last n non-empty lines of s ("(no output)" if none).
func LastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return "(no output)"
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ensure hostsys.Sys stays a Host.
var _ Host = hostsys.Sys{}
