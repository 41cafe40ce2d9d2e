package api

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/power"
	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/client"
)

// recordingBMC answers every BMC and records what bootsrv would send.
type recordingBMC struct {
	mu    sync.Mutex
	calls []string
}

func (r *recordingBMC) Do(_ context.Context, t power.Target, a power.Action) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, fmt.Sprintf("%s %s %s:%s %s", t.Node, t.Addr, t.User, t.Password, a))
	if string(t.Password) != "right" {
		return "", fmt.Errorf("RMCP+ session as %s: authentication failed", t.User)
	}
	if a == power.Status {
		return "on", nil
	}
	return string(a), nil
}

func TestPower(t *testing.T) {
	e := newEnv(t)
	bmc := &recordingBMC{}
	sec, err := secrets.Open(filepath.Join(e.dir, "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	e.api.cfg.Power, e.api.cfg.Secrets = bmc, sec
	for node, addr := range map[string]string{"cn001": "198.18.1.1", "cn002": "198.18.1.2:6230", "cn003": "198.18.1.3"} {
		e.mustDo("PATCH", "/api/v1/nodes/"+node, api.NodeEdit{Fields: map[string]any{
			"bmc_address": addr, "bmc_user": "admin", "bmc_password": "bmc"}}, 200, nil)
	}
	if err := sec.Put(secrets.AllNodes, "bmc", []byte("right")); err != nil {
		t.Fatal(err)
	}
	if err := sec.Put("cn003", "bmc", []byte("wrong")); err != nil {
		t.Fatal(err)
	}

	var res []api.PowerResult
	e.mustDo("GET", "/api/v1/power?range=cn[001-004]&parallel=2", nil, 200, &res)
	got := make([]string, len(res))
	for i, r := range res {
		got[i] = fmt.Sprintf("%s %s %s %s", r.Node, r.BMC, r.State, r.Error)
	}
	want := []string{
		"cn001 198.18.1.1:623 on ",
		"cn002 198.18.1.2:6230 on ",
		"cn003 198.18.1.3:623  BMC 198.18.1.3:623: RMCP+ session as admin: authentication failed",
		"cn004   " + power.ErrNoBMC.Error(),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("power status:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	bmc.calls = nil
	e.mustDo("POST", "/api/v1/power", api.PowerRequest{Range: "cn[001-002]", Action: "reset"}, 200, &res)
	if len(res) != 2 || res[0].State != "reset" || res[1].State != "reset" {
		t.Errorf("power reset = %+v", res)
	}
	if len(bmc.calls) != 2 || !strings.Contains(strings.Join(bmc.calls, "\n"), "cn001 198.18.1.1:623 admin:right reset") {
		t.Errorf("BMC calls: %q", bmc.calls)
	}
	var audit []api.AuditRecord
	e.mustDo("GET", "/api/v1/audit", nil, 200, &audit)
	if len(audit) == 0 || audit[len(audit)-1].Summary != "power reset on cn[001-002]" && audit[0].Summary != "power reset on cn[001-002]" {
		t.Errorf("audit records: %+v", audit)
	}

	for _, tc := range []struct {
		method, path string
		body         any
		code         int
		want         string
	}{
		{"POST", "/api/v1/power", api.PowerRequest{Range: "cn001", Action: "explode"}, 400, "want status, on, off, cycle, reset or boot"},
		{"POST", "/api/v1/power", api.PowerRequest{Range: "cn001", Action: "status"}, 400, "status is GET"},
		{"POST", "/api/v1/power", api.PowerRequest{Range: "", Action: "on"}, 400, "range is empty"},
		{"POST", "/api/v1/power", api.PowerRequest{Range: "cn[001-009]", Action: "on"}, 404, "cn[005-009]"},
		{"POST", "/api/v1/power", api.PowerRequest{Range: "cn001", Action: "on", Parallel: 100000}, 400, "field parallel"},
		{"GET", "/api/v1/power?range=cn001&timeout_ms=x", nil, 400, "timeout_ms"},
	} {
		code, body := e.do(tc.method, tc.path, tc.body)
		if code != tc.code || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s %+v = %d %s, want %d with %q", tc.method, tc.path, tc.body, code, body, tc.code, tc.want)
		}
	}
	for _, c := range res {
		if strings.Contains(c.Error, "right") || strings.Contains(c.Error, "wrong") {
			t.Errorf("a result holds a password: %+v", c)
		}
	}
}

// Console echoes the input back after a greeting naming the node.
func (r *recordingBMC) Console(_ context.Context, t power.Target, in io.Reader, out io.Writer) error {
	if string(t.Password) != "right" {
		return fmt.Errorf("RMCP+ session as %s: authentication failed", t.User)
	}
	fmt.Fprintf(out, "console of %s\n", t.Node)
	_, err := io.Copy(out, in)
	return err
}

func TestConsole(t *testing.T) {
	e := newEnv(t)
	sec, err := secrets.Open(filepath.Join(e.dir, "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	e.api.cfg.Power, e.api.cfg.Secrets = &recordingBMC{}, sec
	e.mustDo("PATCH", "/api/v1/nodes/cn00[1-2]", api.NodeEdit{Fields: map[string]any{
		"bmc_address": "198.18.1.1", "bmc_user": "admin", "bmc_password": "bmc"}}, 200, nil)
	sec.Put(secrets.AllNodes, "bmc", []byte("right"))
	sec.Put("cn002", "bmc", []byte("wrong"))
	cl := client.New(e.srv.URL, e.srv.Client())
	ctx := context.Background()

	conn, err := cl.Console(ctx, "cn001")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "hello\n")
	br := bufio.NewReader(conn)
	for _, want := range []string{"console of cn001\n", "hello\n"} {
		if line, err := br.ReadString('\n'); line != want {
			t.Errorf("console read %q, %v; want %q", line, err, want)
		}
	}
	conn.Close()

	conn, err = cl.Console(ctx, "cn002")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(conn)
	if !strings.Contains(string(b), "[console: RMCP+ session as admin: authentication failed]") {
		t.Errorf("console with a wrong password: %q", b)
	}
	if _, err := cl.Console(ctx, "cn004"); err == nil || !strings.Contains(err.Error(), "no BMC configured") {
		t.Errorf("console of a node without BMC: %v", err)
	}
	if _, err := cl.Console(ctx, "cn099"); err == nil || !strings.Contains(err.Error(), "cn099") {
		t.Errorf("console of an unknown node: %v", err)
	}
	var audit []api.AuditRecord
	e.mustDo("GET", "/api/v1/audit", nil, 200, &audit)
	found := false
	for _, a := range audit {
		found = found || a.Summary == "console cn001"
	}
	if !found {
		t.Errorf("no audit record for console cn001: %+v", audit)
	}
}
