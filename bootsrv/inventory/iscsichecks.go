package inventory

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Checks of the iscsi attribute group. An empty value is accepted by every
// check (it means "unset" to bootsrv's manifest code, which reports a
// missing required value as a manifest problem naming the attribute).

// checkPortal accepts "ADDR" or "ADDR:PORT" (manifest.ParsePortal).
func checkPortal(s string) error {
	if s == "" {
		return nil
	}
	_, err := manifest.ParsePortal(s)
	return err
}

// checkIQN accepts an iSCSI name: iqn.… or eui.…, without spaces, '/' or
// '='; "{node}" (replaced by the node name) is allowed.
func checkIQN(s string) error {
	if s == "" {
		return nil
	}
	if err := checkLine(s); err != nil {
		return err
	}
	if !strings.HasPrefix(s, "iqn.") && !strings.HasPrefix(s, "eui.") {
		return fmt.Errorf("iSCSI name %q: want iqn.YYYY-MM.domain:name or eui.…", s)
	}
	if strings.ContainsAny(s, " /=\\") {
		return fmt.Errorf("iSCSI name %q: contains a space, '/', '=' or backslash", s)
	}
	return nil
}

// checkYesNo accepts yes or no.
func checkYesNo(s string) error {
	switch s {
	case "", "yes", "no":
		return nil
	}
	return fmt.Errorf("%q: want yes or no", s)
}

// checkUint accepts a small non-negative decimal number (a LUN).
func checkUint(s string) error {
	if s == "" {
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 16383 || s[0] == '+' {
		return fmt.Errorf("%q: want a number from 0 to 16383", s)
	}
	return nil
}

// checkVGName accepts an LVM volume group name: [A-Za-z0-9._+-], not
// starting with '-'.
func checkVGName(s string) error {
	if s == "" || s[0] == '-' || s == "." || s == ".." {
		return fmt.Errorf("volume group %q: want letters, digits, '.', '_', '+' or '-'", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._+-", r)) {
			return fmt.Errorf("volume group %q: want letters, digits, '.', '_', '+' or '-'", s)
		}
	}
	return nil
}

// checkSecretName accepts a secret reference name (not a value): 1-64
// letters, digits, '.', '_' or '-', not starting with '.' or '-'. The
// name is a path element of bootsrv's secret store and of
// manifest.SecretPath, and a word on `trap secret set NAME`.
func checkSecretName(s string) error {
	if s == "" {
		return nil
	}
	bad := len(s) > 64 || s[0] == '.' || s[0] == '-'
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			bad = true
		}
	}
	if bad {
		// The value may be a secret pasted by mistake: do not echo it.
		return fmt.Errorf("want a secret name (1-64 letters, digits, '.', '_' or '-'), not a secret value; store the value with trapctl secret push")
	}
	return nil
}

// checkCHAPUser accepts a CHAP user name: no control characters, spaces
// or '='.
func checkCHAPUser(s string) error {
	if err := checkLine(s); err != nil {
		return err
	}
	if strings.ContainsAny(s, " =") {
		return fmt.Errorf("CHAP user %q: contains a space or '='", s)
	}
	return nil
}
