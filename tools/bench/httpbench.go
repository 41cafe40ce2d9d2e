package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/disklesstrap/disklesstrap/tools/storm"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	ReqPerSec float64
	Requests  int
	Non2xx    int
	Errors    int // socket errors (connect, read, write, timeout)
}

// failed says why a run does not score: wrk's Requests/sec counts every
// answer, error answers and failed requests included.
func (r wrkResult) failed() error {
	if r.Non2xx+r.Errors == 0 {
		return nil
	}
	return fmt.Errorf("%d non-2xx answers and %d socket errors in %d requests: a run with errors does not score", r.Non2xx, r.Errors, r.Requests)
}

// parseWrk reads wrk's report.
func parseWrk(out string) (wrkResult, error) {
	var r wrkResult
	haveRate := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "Requests/sec:"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Requests/sec:")), 64)
			if err != nil {
				return r, fmt.Errorf("wrk output: %q: %w", line, err)
			}
			r.ReqPerSec, haveRate = v, true
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "Non-2xx or 3xx responses:")))
			if err != nil {
				return r, fmt.Errorf("wrk output: %q: %w", line, err)
			}
			r.Non2xx = n
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 0, write 0, timeout 12
			for _, part := range strings.Split(strings.TrimPrefix(line, "Socket errors:"), ",") {
				f := strings.Fields(part)
				if len(f) != 2 {
					return r, fmt.Errorf("wrk output: %q", line)
				}
				n, err := strconv.Atoi(f[1])
				if err != nil {
					return r, fmt.Errorf("wrk output: %q: %w", line, err)
				}
				r.Errors += n
			}
		case strings.Contains(line, "requests in"):
			// 419481 requests in 10.00s, 160.02MB read
			n, err := strconv.Atoi(strings.Fields(line)[0])
			if err != nil {
				return r, fmt.Errorf("wrk output: %q: %w", line, err)
			}
			r.Requests = n
		}
	}
	if !haveRate {
		return r, fmt.Errorf("wrk output: no Requests/sec line")
	}
	return r, nil
}

// wrkScript picks a random path from the file in $DT_WRK_PATHS for every
// request.
const wrkScript = `local paths = {}
for line in io.lines(os.getenv("DT_WRK_PATHS")) do paths[#paths + 1] = line end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
`

// wrkCPU is the CPU the load generator is pinned to (the server gets
// serverCPU).
const wrkCPU, serverCPU = "1", "0"

// runWrk runs wrk -t2 -c64 on wrkCPU against base with random paths from
// list; cpu is the CPU time wrk used.
func runWrk(ctx context.Context, dir, base string, paths []string, secs int) (res wrkResult, cpu time.Duration, err error) {
	list := filepath.Join(dir, fmt.Sprintf("paths-%d.txt", time.Now().UnixNano()))
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o644); err != nil {
		return wrkResult{}, 0, err
	}
	script := filepath.Join(dir, "random.lua")
	if err := os.WriteFile(script, []byte(wrkScript), 0o644); err != nil {
		return wrkResult{}, 0, err
	}
	cmd := exec.CommandContext(ctx, "taskset", "-c", wrkCPU, "wrk", "-t2", "-c64", fmt.Sprintf("-d%ds", secs), "-s", script, base)
	cmd.Env = append(os.Environ(), "DT_WRK_PATHS="+list)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return wrkResult{}, 0, fmt.Errorf("wrk %s: %v: %s", base, err, out)
	}
	cpu = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	r, err := parseWrk(string(out))
	if err != nil {
		return r, cpu, fmt.Errorf("wrk %s: %w\n%s", base, err, out)
	}
	return r, cpu, nil
}

// nginxConf serves root on addr: one worker (it runs on one CPU, like
// bootsrv), sendfile, an open file cache of cacheFiles descriptors (0:
// none), no access log.
func nginxConf(dir, root, addr string, cacheFiles int) string {
	cache := ""
	if cacheFiles > 0 {
		cache = fmt.Sprintf("open_file_cache max=%d inactive=60s;", cacheFiles)
	}
	return fmt.Sprintf(`daemon off;
master_process on;
worker_processes 1;
user root;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  %[4]s
  default_type text/plain;
  client_body_temp_path %[1]s/tmp-body;
  proxy_temp_path %[1]s/tmp-proxy;
  fastcgi_temp_path %[1]s/tmp-fastcgi;
  uwsgi_temp_path %[1]s/tmp-uwsgi;
  scgi_temp_path %[1]s/tmp-scgi;
  server {
    listen %[3]s;
    root %[2]s;
  }
}
`, dir, root, addr, cache)
}

// nginxCacheFiles is how many files nginx's open file cache may hold: all
// of them, within the descriptor limit (which an unprivileged container
// may not raise) less room for connections.
func nginxCacheFiles(files int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	return max(0, min(files, int(lim.Cur)-1024))
}

// fetchAll GETs every path from base with 32 parallel clients and writes
// each body to root/name(path).
func fetchAll(ctx context.Context, base string, paths []string, root string, name func(i int) string) error {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	var wg sync.WaitGroup
	work := make(chan int)
	errc := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fetchOne(ctx, c, base+paths[i], filepath.Join(root, name(i))); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	var err error
feed:
	for i := range paths {
		select {
		case work <- i:
		case err = <-errc:
			break feed
		}
	}
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	select {
	case err = <-errc:
	default:
	}
	return err
}

func fetchOne(ctx context.Context, c *http.Client, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("fetch %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fetch %s: %s %v", url, resp.Status, err)
	}
	return os.WriteFile(path, b, 0o644)
}

// httpRow is one line of the HTTP table.
type httpRow struct {
	system string
	res    wrkResult
	ref    int // index of the nginx row this one compares to, -1 for none
	// server and load are the busy shares of their CPUs (server and
	// children; wrk) over the run.
	server, load float64
	err          error // why the row does not score (res.failed)
}

// benchHTTP runs wrk against bootsrv and nginx, manifests then scripts.
func (b *bench) benchHTTP(ctx context.Context) ([]httpRow, error) {
	dir, err := os.MkdirTemp(b.dir, "http-")
	if err != nil {
		return nil, err
	}
	n := b.nodes
	srv, err := b.startBootsrv(ctx, dir, n, "off", serverCPU)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	root := filepath.Join(dir, "www")
	for _, d := range []string{"manifest", "ipxe"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return nil, err
		}
	}
	var manifests, scripts, staticManifests, staticScripts []string
	for i := 1; i <= n; i++ {
		manifests = append(manifests, "/manifest/"+storm.NodeName(i))
		scripts = append(scripts, "/ipxe?mac="+storm.NodeMAC(i).String()+"&platform=pcbios")
		staticManifests = append(staticManifests, "/manifest/"+storm.NodeName(i))
		staticScripts = append(staticScripts, "/ipxe/"+storm.NodeName(i))
	}
	t0 := time.Now()
	if err := fetchAll(ctx, b.base, manifests, root, func(i int) string { return staticManifests[i][1:] }); err != nil {
		return nil, err
	}
	b.logf("HTTP: fetched %d manifests from bootsrv in %s", n, time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	if err := fetchAll(ctx, b.base, scripts, root, func(i int) string { return staticScripts[i][1:] }); err != nil {
		return nil, err
	}
	b.logf("HTTP: fetched %d iPXE scripts from bootsrv in %s", n, time.Since(t0).Round(time.Millisecond))

	nginxAddr := "127.0.0.1:8081"
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConf(dir, root, nginxAddr, nginxCacheFiles(2*n))), 0o644); err != nil {
		return nil, err
	}
	ngx, err := start("nginx", filepath.Join(dir, "nginx.out"), serverCPU, "nginx", "-c", conf, "-p", dir, "-e", filepath.Join(dir, "nginx-error.log"))
	if err != nil {
		return nil, err
	}
	defer ngx.stop()
	if err := waitHTTP(ctx, ngx, "http://"+nginxAddr+staticManifests[0], filepath.Join(dir, "nginx-error.log")); err != nil {
		return nil, err
	}
	var rows []httpRow
	var failed []error
	for _, r := range []struct {
		system, base string
		paths        []string
		ref          int
		profile      string
	}{
		{"nginx, static manifests", "http://" + nginxAddr, staticManifests, -1, ""},
		{"bootsrv, GET /manifest/{node}", b.base, manifests, 0, "cpu-http-manifest.prof"},
		{"nginx, static iPXE scripts", "http://" + nginxAddr, staticScripts, -1, ""},
		{"bootsrv, GET /ipxe?mac=", b.base, scripts, 2, "cpu-http-ipxe.prof"},
	} {
		server := srv
		if r.ref < 0 {
			server = ngx
		}
		var prof chan error
		if b.profile != "" && r.profile != "" {
			prof = make(chan error, 1)
			go func() {
				time.Sleep(time.Second)
				prof <- fetchProfile(b.pprof, max(1, b.httpSecs-2), filepath.Join(b.profile, r.profile))
			}()
		}
		pid := server.cmd.Process.Pid
		cpu0, cerr := procCPU(pid)
		t0 := time.Now()
		res, load, err := runWrk(ctx, dir, r.base, r.paths, b.httpSecs)
		wall := time.Since(t0)
		cpu1, cerr2 := procCPU(pid)
		if prof != nil {
			if perr := <-prof; perr != nil {
				b.logf("profile: %v", perr)
			}
		}
		if err != nil {
			return rows, err
		}
		if cerr = errors.Join(cerr, cerr2); cerr != nil {
			return rows, fmt.Errorf("%s: server CPU time: %w", r.system, cerr)
		}
		row := httpRow{system: r.system, res: res, ref: r.ref, server: (cpu1 - cpu0).Seconds() / wall.Seconds(),
			load: load.Seconds() / wall.Seconds(), err: res.failed()}
		b.logf("HTTP: %s: %.0f req/s (%d requests, %d non-2xx, %d socket errors; server CPU %.0f %%, wrk CPU %.0f %%)",
			r.system, res.ReqPerSec, res.Requests, res.Non2xx, res.Errors, 100*row.server, 100*row.load)
		if row.err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", r.system, row.err))
		}
		rows = append(rows, row)
	}
	return rows, errors.Join(failed...)
}
