package ipxe

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"strings"
	"text/template"

	"github.com/disklesstrap/disklesstrap/manifest"
)

// Platforms as iPXE's ${platform} names them.
const (
	PlatformBIOS = "pcbios"
	PlatformEFI  = "efi"
)

// InitrdName is the name the initramfs is registered under; UEFI kernels
// find it through initrd=InitrdName on their command line.
const InitrdName = "initrd.img"

// RetrySeconds is the pause between attempts, and before a reboot.
const RetrySeconds = 30

// ChainAttempts is how often boot.ipxe tries to reach bootsrv before it
// reboots the node.
const ChainAttempts = 5

// Params describe one node's boot script.
type Params struct {
	Node     string        // inventory name; "" for an unknown node (discovery)
	Mode     manifest.Mode // "" for an unknown node means discovery
	Server   string        // bootsrv base URL, e.g. http://198.18.0.1:8080
	Kernel   string        // kernel URL
	Initrd   string        // initramfs URL
	Cmdline  string        // extra kernel arguments
	MAC      string        // boot MAC (aa:bb:..); "" lets iPXE fill in ${netX/mac}
	Platform string        // PlatformBIOS, PlatformEFI, another ${platform} name, or "" (decided at run time)
}

var chainTmpl = template.Must(template.New("chain").Parse(`#!ipxe
# DisklessTrap: fetch this node's boot script from bootsrv.
set dt_base {{.Base}}
set dt_try:int32 0
:retry
chain --replace --autofree ${dt_base}/ipxe?mac=${netX/mac}&platform=${platform}&arch=${buildarch} || goto failed
:failed
inc dt_try
echo DisklessTrap: cannot fetch ${dt_base}/ipxe (attempt ${dt_try} of {{.Attempts}})
iseq ${dt_try} {{.Attempts}} && goto giveup ||
echo DisklessTrap: retrying in {{.Sleep}} seconds
sleep {{.Sleep}}
goto retry
:giveup
echo DisklessTrap: bootsrv at ${dt_base} unreachable; rebooting in {{.Sleep}} seconds
sleep {{.Sleep}}
reboot
`))

var nodeTmpl = template.Must(template.New("node").Parse(`#!ipxe
# DisklessTrap: node {{if .Node}}{{.Node}}{{else}}(unknown){{end}}, mode {{.Mode}}{{if .Platform}}, platform {{.Platform}}{{end}}
{{- if .Local}}
{{- if eq .Platform ""}}
echo DisklessTrap: booting from the local disk
iseq ${platform} pcbios || exit 1
sanboot --no-describe --drive 0x80 || goto failed
{{- else if ne .Platform "pcbios"}}
echo DisklessTrap: booting from the local disk (back to the firmware)
exit 1
{{- else}}
echo DisklessTrap: booting from the local disk
sanboot --no-describe --drive 0x80 || goto failed
{{- end}}
{{- else}}
echo DisklessTrap: loading the trap for {{if .Node}}{{.Node}}{{else}}an unknown node{{end}}
kernel {{.Kernel}} initrd={{.InitrdName}} {{.BootIF}} dt.server={{.Server}} dt.node={{.Node}} dt.mode={{.Mode}}{{if .Cmdline}} {{.Cmdline}}{{end}} || goto failed
initrd --name {{.InitrdName}} {{.Initrd}} || goto failed
boot || goto failed
{{- end}}
:failed
echo DisklessTrap: boot failed; trying again in {{.Sleep}} seconds
sleep {{.Sleep}}
chain --replace --autofree {{.Server}}/boot.ipxe || reboot
`))

// Chain returns the static /boot.ipxe for a bootsrv at baseURL.
func Chain(baseURL string) (string, error) {
	base := strings.TrimRight(baseURL, "/")
	if err := checkURL("server", base); err != nil {
		return "", fmt.Errorf("ipxe chain script: %w", err)
	}
	var b bytes.Buffer
	err := chainTmpl.Execute(&b, struct {
		Base            string
		Attempts, Sleep int
	}{base, ChainAttempts, RetrySeconds})
	if err != nil {
		return "", fmt.Errorf("ipxe chain script: %w", err)
	}
	return b.String(), nil
}

// Script renders a node's boot script.
func Script(p Params) (string, error) {
	name := p.Node
	if name == "" {
		name = "(unknown node)"
	}
	v, err := p.view()
	if err != nil {
		return "", fmt.Errorf("ipxe script for %s: %w", name, err)
	}
	var b bytes.Buffer
	if err := nodeTmpl.Execute(&b, v); err != nil {
		return "", fmt.Errorf("ipxe script for %s: %w", name, err)
	}
	return b.String(), nil
}

type view struct {
	Params
	Local      bool
	BootIF     string
	InitrdName string
	Sleep      int
}

// view validates p and prepares the template's values.
func (p Params) view() (view, error) {
	v := view{Params: p, InitrdName: InitrdName, Sleep: RetrySeconds}
	v.Server = strings.TrimRight(p.Server, "/")
	if p.Node != "" {
		if err := checkName(p.Node); err != nil {
			return v, err
		}
	}
	if p.Mode == "" && p.Node == "" {
		v.Mode = manifest.ModeDiscovery
	}
	if _, err := manifest.ParseMode(string(v.Mode)); err != nil {
		return v, fmt.Errorf("field mode: %w", err)
	}
	if p.Node == "" && v.Mode != manifest.ModeDiscovery {
		return v, fmt.Errorf("field node: empty, which only mode discovery allows (mode is %s)", v.Mode)
	}
	if err := checkPlatform(p.Platform); err != nil {
		return v, err
	}
	if err := checkURL("server", v.Server); err != nil {
		return v, err
	}
	v.Local = v.Mode == manifest.ModeLocal
	if v.Local {
		return v, nil
	}
	if err := checkURL("kernel", p.Kernel); err != nil {
		return v, err
	}
	if err := checkURL("initrd", p.Initrd); err != nil {
		return v, err
	}
	if err := checkCmdline(p.Cmdline); err != nil {
		return v, err
	}
	v.Cmdline = strings.Join(strings.Fields(p.Cmdline), " ")
	if p.MAC == "" {
		v.BootIF = manifest.CmdlineBootIF + "=01-${netX/mac:hexhyp}"
	} else {
		mac, err := net.ParseMAC(p.MAC)
		if err != nil || len(mac) != 6 {
			return v, fmt.Errorf("field mac: %q is not an Ethernet MAC address", p.MAC)
		}
		v.BootIF = manifest.CmdlineBootIF + "=01-" + strings.ReplaceAll(mac.String(), ":", "-")
	}
	return v, nil
}

// checkURL accepts absolute http, https and tftp URLs made of urlChar's
// characters (no whitespace, quotes or iPXE syntax).
func checkURL(field, s string) error {
	if s == "" {
		return fmt.Errorf("field %s: empty URL", field)
	}
	if err := checkChars(field, s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("field %s: %w", field, err)
	}
	switch u.Scheme {
	case "http", "https", "tftp":
	default:
		return fmt.Errorf("field %s: URL %q is not http, https or tftp", field, s)
	}
	if u.Host == "" {
		return fmt.Errorf("field %s: URL %q has no host", field, s)
	}
	return nil
}

// checkPlatform accepts iPXE ${platform} names: up to 16 of a-z, 0-9, '-',
// '_'. Only pcbios boots the local disk with sanboot; any other platform
// exits to the firmware; "" decides at run time.
func checkPlatform(s string) error {
	if len(s) > 16 {
		return fmt.Errorf("field platform: %q is too long", s)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("field platform: %q is not a platform name", s)
		}
	}
	return nil
}

func checkCmdline(s string) error {
	if err := CheckCmdline(s); err != nil {
		return fmt.Errorf("field cmdline: %w", err)
	}
	return nil
}

// checkName accepts node names made of letters, digits, '.', '-' and '_'.
func checkName(s string) error {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			return fmt.Errorf("field node: %q contains %q (want letters, digits, '.', '-', '_')", s, r)
		}
	}
	return nil
}

// checkChars refuses any character outside urlChar's set: whitespace,
// control characters, quotes, backslashes and the iPXE syntax "$", "#",
// ";", "&" and "|".
func checkChars(field, s string) error {
	for _, r := range s {
		if !urlChar(r) {
			return fmt.Errorf("field %s: %q contains %q, which a boot URL may not (want letters, digits and - . _ ~ : / @ %% + , = [ ])", field, s, r)
		}
	}
	return nil
}
