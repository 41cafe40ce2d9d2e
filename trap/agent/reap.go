package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// reap collects orphaned zombies when the agent is PID 1 (daemons and
// background jobs of shells are re-parented to it). A blind wait(-1)
// would steal exit statuses from os/exec, so only children that stayed
// zombies across two scans are reaped: os/exec waits for its own at once.
func reap(ctx context.Context, procRoot string, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	seen := map[int]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := map[int]bool{}
		for _, pid := range zombieChildren(procRoot, os.Getpid()) {
			if seen[pid] {
				var ws unix.WaitStatus
				_, _ = unix.Wait4(pid, &ws, unix.WNOHANG, nil)
				continue
			}
			now[pid] = true
		}
		seen = now
	}
}

// zombieChildren lists the zombie processes whose parent is ppid, from
// procRoot/<pid>/stat.
func zombieChildren(procRoot string, ppid int) []int {
	dirs, _ := filepath.Glob(filepath.Join(procRoot, "[0-9]*", "stat"))
	var out []int
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		pid, state, parent, ok := parseStat(string(b))
		if ok && state == "Z" && parent == ppid {
			out = append(out, pid)
		}
	}
	return out
}

// parseStat reads pid, state and ppid from a /proc/PID/stat line; the
// command name may contain spaces and parentheses.
func parseStat(s string) (pid int, state string, ppid int, ok bool) {
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 1 || end < open {
		return 0, "", 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(s[:open]))
	if err != nil {
		return 0, "", 0, false
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 2 {
		return 0, "", 0, false
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, "", 0, false
	}
	return pid, f[0], ppid, true
}
