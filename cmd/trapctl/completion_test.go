package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBashCompletion sources `trapctl completion bash` in a real bash and
// runs its completion function on a few command lines, against the real
// admin API for node names.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	url, _, _ := server(t)
	bin := filepath.Join(t.TempDir(), "trapctl")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct{ line, want string }{
		{"trapctl no", "node"},
		{"trapctl node ", "add delete inventory list set show"},
		{"trapctl disc", "discover"},
		{"trapctl discover ", "assign list"},
		{"trapctl mode set cn00", "cn001 cn002 cn003 cn004"},
		{"trapctl mode set login1 ra", "ramroot"},
		{"trapctl mode set cn001 trap --on", "--once"},
		{"trapctl -o j", "json"},
		{"trapctl status --server " + url + " l", "login1"},
		{"trapctl completion ", "bash zsh"},
		{"trapctl node show x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			script := `source <("$TRAPCTL" completion bash) || exit 3
COMP_LINE=$LINE; COMP_POINT=${#LINE}; COMP_WORDS=($LINE); COMP_CWORD=$((${#COMP_WORDS[@]}-1))
[[ $LINE == *" " ]] && COMP_CWORD=${#COMP_WORDS[@]}
_trapctl
echo "${COMPREPLY[*]}"`
			cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script)
			cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+":"+os.Getenv("PATH"), "TRAPCTL="+bin, "LINE="+tt.line, "TRAPCTL_SERVER="+url)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("bash: %v\n%s", err, out)
			}
			if got := strings.TrimSpace(string(out)); got != tt.want {
				t.Errorf("completing %q = %q, want %q", tt.line, got, tt.want)
			}
		})
	}
}
