package iscsi

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// iscsiadm exit codes (open-iscsi's ISCSI_ERR_*) the login step explains.
const (
	errFatalLogin      = 19 // ISCSI_ERR_FATAL_LOGIN: non-retryable (the initiator gave up)
	errLoginAuthFailed = 24 // ISCSI_ERR_LOGIN_AUTH_FAILED: the target refused the login
)

// iscsidReason waits up to 3 s for iscsid's messages after mark: its
// logger process flushes them to syslog about once a second, after
// iscsiadm has its answer. It returns early once a login message shows.
func iscsidReason(ctx context.Context, sl syslogSource, mark int) []string {
	deadline := time.Now().Add(3 * time.Second)
	for {
		lines, _ := sl.SyslogSince(mark)
		for _, l := range lines {
			if strings.Contains(strings.ToLower(l), "login") {
				return lines
			}
		}
		if time.Now().After(deadline) {
			return lines
		}
		select {
		case <-ctx.Done():
			return lines
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// loginFailure describes a failed `iscsiadm --login` on portal: what
// went wrong in words (authentication first), iscsid's own messages about
// it, then iscsiadm's error.
func loginFailure(c *manifest.ISCSI, portal string, err error, syslog []string) string {
	var why string
	auth := false
	var related []string
	for _, l := range syslog {
		low := strings.ToLower(l)
		if strings.Contains(low, "authenticat") || strings.Contains(low, "chap") {
			auth = true
		}
		if strings.Contains(low, "auth") || strings.Contains(low, "login") || strings.Contains(l, c.Target) {
			related = append(related, l)
		}
	}
	code := -1
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	switch {
	case code == errLoginAuthFailed:
		why = "authentication failed: the target refused the login"
		if c.CHAP != nil {
			why += fmt.Sprintf(" (CHAP user %s with secret %s, or initiator %s not in its ACL)", c.CHAP.User, c.CHAP.Secret.Name, c.InitiatorName)
		} else {
			why += fmt.Sprintf(" (initiator %s not in its ACL, or it wants CHAP)", c.InitiatorName)
		}
	case auth && c.MutualCHAP != nil:
		why = fmt.Sprintf("authentication failed: the target did not prove mutual CHAP user %s with secret %s", c.MutualCHAP.User, c.MutualCHAP.Secret.Name)
	case auth:
		why = "authentication failed"
	case code == errFatalLogin && c.MutualCHAP != nil:
		why = fmt.Sprintf("non-retryable login failure (a wrong mutual CHAP secret %s shows like this)", c.MutualCHAP.Secret.Name)
	}
	var b strings.Builder
	b.WriteString(portal + ": ")
	if why != "" {
		b.WriteString(why + "; ")
	}
	if len(related) > 0 {
		if len(related) > 5 {
			related = related[len(related)-5:]
		}
		b.WriteString("iscsid: " + strings.Join(related, " | ") + "; ")
	}
	b.WriteString(err.Error())
	return b.String()
}
