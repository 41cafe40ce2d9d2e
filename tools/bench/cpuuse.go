package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Which side of a run was the limit: the bench pins the server to CPU 0
// and the load generator to CPU 1 and measures the CPU time each used
// (/proc/PID/stat of the server and its direct children; the generator's
// rusage). A side that kept its CPU busy >= saturatedShare of the run was
// the limit; a ratio is a statement about the server only when the server
// side saturated and the generator did not.

// saturatedShare is the busy share of one CPU that counts as saturated.
const saturatedShare = 0.9

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// procCPU is the CPU time pid and its direct children used so far.
func procCPU(pid int) (time.Duration, error) {
	total, err := statCPU(pid)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		child, err := strconv.Atoi(e.Name())
		if err != nil || child == pid {
			continue
		}
		if ppid, err := statPPID(child); err == nil && ppid == pid {
			if t, err := statCPU(child); err == nil {
				total += t
			}
		}
	}
	return total, nil
}

// statFields returns the fields of /proc/PID/stat after the command name.
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, fmt.Errorf("/proc/%d/stat: no command name", pid)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return nil, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	return f, nil
}

func statPPID(pid int) (int, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(f[1]) // field 4
}

func statCPU(pid int) (time.Duration, error) {
	f, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64) // field 14 utime
	s, err2 := strconv.ParseInt(f[12], 10, 64) // field 15 stime
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, f[11], f[12])
	}
	return time.Duration(u+s) * time.Second / clockTicks, nil
}

// saturated names the side(s) that kept their CPU busy.
func saturated(server, load float64) string {
	switch s, l := server >= saturatedShare, load >= saturatedShare; {
	case s && l:
		return "both"
	case s:
		return "server"
	case l:
		return "load generator"
	}
	return "neither"
}
