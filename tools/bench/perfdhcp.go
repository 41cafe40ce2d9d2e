package main

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// perfResult is what one perfdhcp run reports.
type perfResult struct {
	Rate       float64 // measured 4-way exchanges per second
	Discovers  int     // DISCOVERs sent
	Offers     int     // OFFERs received
	Requests   int     // REQUESTs sent
	Acks       int     // ACKs received
	RateTarget int     // the -r asked for
	Seconds    int     // the -p asked for
	// CPU is the busy share of perfdhcp's CPU over the run; ServerCPU the
	// server's (set by the caller).
	CPU, ServerCPU float64
}

// Delivered reports whether perfdhcp sent what was asked: at least
// (1 - slack) of rate x seconds DISCOVERs. A run that sent less measured
// the generator, not the server.
func (r perfResult) Delivered(slack float64) bool {
	return float64(r.Discovers) >= (1-slack)*float64(r.RateTarget*r.Seconds)
}

// Loss is the share of exchanges that did not end in an ACK.
func (r perfResult) Loss() float64 {
	if r.Discovers == 0 {
		return 1
	}
	return 1 - float64(r.Acks)/float64(r.Discovers)
}

// parsePerfdhcp reads perfdhcp's report (the "basic" scenario, -4).
func parsePerfdhcp(out string) (perfResult, error) {
	var r perfResult
	section := ""
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "***Statistics for:"):
			section = strings.TrimSuffix(strings.TrimSpace(strings.TrimPrefix(line, "***Statistics for:")), "***")
		case strings.HasPrefix(line, "Rate:"):
			f := strings.Fields(line)
			if len(f) < 2 {
				return r, fmt.Errorf("perfdhcp output: bad rate line %q", line)
			}
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return r, fmt.Errorf("perfdhcp output: rate %q: %w", f[1], err)
			}
			r.Rate = v
			seen["rate"] = true
		case strings.HasPrefix(line, "sent packets:"), strings.HasPrefix(line, "received packets:"):
			k, v, _ := strings.Cut(line, ":")
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return r, fmt.Errorf("perfdhcp output: %q: %w", line, err)
			}
			key := section + " " + k
			switch key {
			case "DISCOVER-OFFER sent packets":
				r.Discovers = n
			case "DISCOVER-OFFER received packets":
				r.Offers = n
			case "REQUEST-ACK sent packets":
				r.Requests = n
			case "REQUEST-ACK received packets":
				r.Acks = n
			default:
				continue
			}
			seen[key] = true
		}
	}
	for _, k := range []string{"rate", "DISCOVER-OFFER sent packets", "DISCOVER-OFFER received packets"} {
		if !seen[k] {
			return r, fmt.Errorf("perfdhcp output: no %q", k)
		}
	}
	return r, nil
}

// perfdhcp runs one perfdhcp test against t at rate exchanges/s for
// seconds, with clients distinct MACs from the template mac, pinned to
// cpu: relayed from t.iface (an address) to t.server, or, with no server,
// broadcast on the interface t.iface with the broadcast flag set (-B), as
// a client on a real segment sends.
func perfdhcp(ctx context.Context, cpu string, t perfTarget, mac string, rate, clients, seconds int) (perfResult, string, error) {
	args := []string{"-c", cpu, "perfdhcp", "-4", "-l", t.iface, "-r", strconv.Itoa(rate), "-R", strconv.Itoa(clients),
		"-p", strconv.Itoa(seconds), "-W", "1000000", "-g", "single", "-b", "mac=" + mac}
	if t.server == "" {
		args = append(args, "-B")
	} else {
		args = append(args, t.server)
	}
	cmd := exec.CommandContext(ctx, "taskset", args...)
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(t0)
	line := "taskset " + strings.Join(args, " ")
	if err != nil && len(out) == 0 {
		return perfResult{}, line, fmt.Errorf("%s: %w", line, err)
	}
	// perfdhcp exits 3 when packets were dropped: the report still counts.
	r, perr := parsePerfdhcp(string(out))
	if perr != nil {
		return r, line, fmt.Errorf("%s: %w\n%s", line, perr, out)
	}
	r.RateTarget, r.Seconds = rate, seconds
	if cmd.ProcessState != nil {
		r.CPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / wall.Seconds()
	}
	return r, line, nil
}
