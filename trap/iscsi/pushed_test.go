package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
	"github.com/disklesstrap/disklesstrap/trap/ctl"
	"github.com/disklesstrap/disklesstrap/trap/plan"
)

// resetPushed clears what tests pushed or pulled (the store is the
// agent's global), now and when the test ends.
func resetPushed(t *testing.T) {
	clearPushed()
	t.Cleanup(clearPushed)
}

func clearPushed() {
	pushed.mu.Lock()
	defer pushed.mu.Unlock()
	pushed.secrets, pushed.config = nil, nil
}

func runPush(t *testing.T, args []string, stdin string) error {
	t.Helper()
	mk, ok := PushCommands()[args[0]+" "+args[1]]
	if !ok {
		t.Fatalf("PushCommands() has no %q", args[:2])
	}
	s, err := mk(args[2:])
	if err != nil {
		return err
	}
	ctx := ctl.WithStdin(context.Background(), []byte(stdin))
	return s.Run(ctx, &plan.Env{})
}

func TestSecretSet(t *testing.T) {
	resetPushed(t)
	tests := []struct {
		args    []string
		stdin   string
		want    string // stored value
		wantErr string
	}{
		{[]string{"secret", "set", "luks"}, "passphrase\n", "passphrase", ""},
		{[]string{"secret", "set", "raw"}, "two\nlines\n\n", "two\nlines\n", ""},
		{[]string{"secret", "set", "empty"}, "\n", "", "empty standard input"},
		{[]string{"secret", "set", "a/b"}, "x", "", "want one word"},
		{[]string{"secret", "set"}, "x", "", "usage"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			err := runPush(t, tt.args, tt.stdin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("trap %s = %v, want error %q", strings.Join(tt.args, " "), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("trap %s: %v", strings.Join(tt.args, " "), err)
			}
			if got, ok := pushedSecret(tt.args[2]); !ok || string(got) != tt.want {
				t.Errorf("pushedSecret(%q) = %q, %v, want %q", tt.args[2], got, ok, tt.want)
			}
		})
	}
}

// A pushed secret wins over the server's; the others still come from it.
func TestPushedSecretInLogin(t *testing.T) {
	resetPushed(t)
	PushSecret("cn001-mutual", []byte("pushed-mutual-1"))
	m := ocean()
	f := newFake("")
	s := &Login{Config: *m.ISCSI}
	if err := s.Run(context.Background(), &plan.Env{Manifest: m, Run: f, Sys: f}); err != nil {
		t.Fatalf("Login.Run: %v", err)
	}
	rec := f.files[RecordPath(m.ISCSI.Target, m.ISCSI.Portals[0], 1)]
	if !strings.Contains(rec, "node.session.auth.password_in = pushed-mutual-1\n") || !strings.Contains(rec, "node.session.auth.password = chap-secret-123\n") {
		t.Errorf("node record does not carry the pushed mutual secret and the server's CHAP secret:\n%s", rec)
	}
	for _, l := range f.log {
		if l == "secret cn001-mutual" {
			t.Errorf("Login fetched cn001-mutual from the server although it was pushed")
		}
	}
	if got, _ := pushedSecret("cn001-mutual"); string(got) != "pushed-mutual-1" {
		t.Errorf("the pushed secret was consumed or zeroed: %q", got)
	}
}

func TestConfigSet(t *testing.T) {
	resetPushed(t)
	good := `{"initiator_name":"iqn.2026-11.lab.dt:cn021","target":"iqn.2026-11.lab.dt:testos","portals":["198.18.0.1:3260","198.19.0.1"]}`
	tests := []struct {
		name, stdin, wantErr string
	}{
		{"not json", "{", "iscsi config on standard input"},
		{"unknown field", `{"target":"iqn.x","bogus":1}`, "unknown field"},
		{"invalid", `{"initiator_name":"iqn.a","target":"iqn.b","portals":[]}`, "no portals"},
		{"good", good, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := runPush(t, []string{"iscsi", "config"}, tt.stdin)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("trap iscsi config < %s = %v, want %q", tt.name, err, tt.wantErr)
			}
		})
	}
	m := &manifest.Manifest{Node: "cn021", Mode: manifest.ModeTrap}
	c, err := prepare(m)
	if err != nil || c.Target != "iqn.2026-11.lab.dt:testos" || len(c.Portals) != 2 {
		t.Errorf("prepare(manifest without iscsi) after a push = %+v, %v, want the pushed section", c, err)
	}
	m.ISCSI = ocean().ISCSI
	if c, _ := prepare(m); c.Target != ocean().ISCSI.Target || c.InitiatorName != "iqn.2026-11.lab.dt:cn001" {
		t.Errorf("prepare(manifest with iscsi) = %+v, want the manifest's section to win", c)
	}
}

func exitErr(t *testing.T, code int) error {
	t.Helper()
	err := exec.Command("sh", "-c", fmt.Sprintf("exit %d", code)).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("sh exit %d: %v", code, err)
	}
	return fmt.Errorf("iscsiadm --login: %w", err)
}

func TestLoginFailureText(t *testing.T) {
	c := ocean().ISCSI
	noMutual := *c
	noMutual.MutualCHAP = nil
	mutualLines := []string{
		"iscsid: iSCSI daemon with pid=137 started!",
		"iscsid: failing authentication, received incorrect CHAP response from target iqn.2026-11.lab.dt:testos",
		"iscsid: Login authentication failed with target iqn.2026-11.lab.dt:testos, Authentication request failed",
	}
	tests := []struct {
		name    string
		c       *manifest.ISCSI
		code    int
		syslog  []string
		want    []string
		notWant []string
	}{
		{"mutual from syslog", c, 19, mutualLines,
			[]string{"198.18.0.1:3260: authentication failed: the target did not prove mutual CHAP user node_mutual with secret cn001-mutual", "received incorrect CHAP response", "exit status 19"},
			[]string{"daemon with pid"}},
		{"target refused", c, 24, nil,
			[]string{"198.18.0.1:3260: authentication failed: the target refused the login (CHAP user node_user with secret cn001-chap, or initiator iqn.2026-11.lab.dt:cn001 not in its ACL)"}, nil},
		{"fatal without syslog", c, 19, nil, []string{"non-retryable login failure (a wrong mutual CHAP secret cn001-mutual shows like this)"}, []string{"authentication failed"}},
		{"timeout", &noMutual, 8, nil, []string{"198.18.0.1:3260: iscsiadm --login: exit status 8"}, []string{"authentication", "mutual"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := loginFailure(tt.c, "198.18.0.1:3260", exitErr(t, tt.code), tt.syslog)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("loginFailure() = %q, want it to contain %q", got, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(got, w) {
					t.Errorf("loginFailure() = %q, want no %q", got, w)
				}
			}
		})
	}
}

func TestEnsureRootUser(t *testing.T) {
	tests := []struct{ name, passwd, want string }{
		{"missing", "", "root:x:0:0:root:/root:/bin/sh\n"},
		{"other users", "daemon:x:1:1::/:/bin/false", "daemon:x:1:1::/:/bin/false\nroot:x:0:0:root:/root:/bin/sh\n"},
		{"has root", "root:x:0:0::/root:/bin/ash\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake("")
			if tt.passwd != "" {
				f.files[PasswdFile] = tt.passwd
			}
			if err := ensureRootUser(f, f, ""); err != nil {
				t.Fatal(err)
			}
			got, written := f.files[PasswdFile]
			if tt.want == "" && got != tt.passwd || tt.want != "" && (!written || got != tt.want) {
				t.Errorf("ensureRootUser(%q) wrote %q, want %q", tt.passwd, got, tt.want)
			}
		})
	}
}

func FuzzConfigSet(f *testing.F) {
	f.Add(`{"initiator_name":"iqn.a","target":"iqn.b","portals":["198.18.0.1"]}`)
	f.Add(`{"initiator_name":"iqn.a","target":"iqn.b","portals":["x"],"chap":{"user":"u","secret":{"name":"s"}}}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, in string) {
		s := &ConfigSet{}
		err := s.Run(ctl.WithStdin(context.Background(), []byte(in)), &plan.Env{})
		if err == nil {
			if c := pushedConfig(); c == nil || c.Validate() != nil {
				t.Errorf("ConfigSet accepted %q but the pushed section is %+v", in, c)
			}
		}
		pushed.mu.Lock()
		pushed.config = nil
		pushed.mu.Unlock()
	})
}

// TestPulledSecretKept: bootsrv releases a secret once per boot, so the
// agent keeps what it pulled and a re-run step does not ask again.
func TestPulledSecretKept(t *testing.T) {
	resetPushed(t)
	f := newFake("")
	env := &plan.Env{Manifest: ocean(), Run: f, Sys: f}
	for i := 0; i < 2; i++ {
		v, err := secret(context.Background(), f, env, "cn001-chap")
		if err != nil || string(v) != "chap-secret-123" {
			t.Fatalf("secret(cn001-chap) #%d = %q, %v", i+1, v, err)
		}
	}
	if got := strings.Count(f.text(), "secret cn001-chap"); got != 1 {
		t.Errorf("bootsrv asked %d times for cn001-chap, want 1:\n%s", got, f.text())
	}
}
