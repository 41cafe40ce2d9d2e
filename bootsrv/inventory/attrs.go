package inventory

import (
	"fmt"
	"path"
	"reflect"
	"strings"

	"golang.org/x/crypto/ssh"

	"github.com/disklesstrap/disklesstrap/bootsrv/ipxe"
	"github.com/disklesstrap/disklesstrap/manifest"
)

// Attrs are the attributes a node entry, a group or defaults may set.
// A nil field is "not set" (the next source in precedence order decides);
// a non-nil field is set, possibly to an empty value.
//
// Adding an attribute is one field: a pointer to a string kind or to a
// slice of a string kind, with a yaml key and a check (see checks).
type Attrs struct {
	Mode    *manifest.Mode `yaml:"mode" check:"mode"`
	Kernel  *string        `yaml:"kernel" check:"file"`
	Initrd  *string        `yaml:"initrd" check:"file"`
	Cmdline *string        `yaml:"cmdline" check:"cmdline"`
	SSHKeys *[]string      `yaml:"ssh_keys" check:"authorized_key"`
	Image   *string        `yaml:"image" check:"line"`
	Console *string        `yaml:"console" check:"line"`
	// Stateless boot (mode ramroot): the first zram device's size and
	// compression, and the overlay mount points (see ramrootchecks.go).
	ZramSize      *string   `yaml:"zram_size" check:"size"`
	ZramAlgorithm *string   `yaml:"zram_algorithm" check:"word"`
	Overlays      *[]string `yaml:"overlays" check:"abspath"`
	Init          *string   `yaml:"init" check:"abspath"` // the image's init (default /sbin/init)
	// Transport is how a ramroot node fetches its image: "http" (default)
	// or "torrent" (bootsrv's swarm; the web seed is the fallback).
	Transport *string `yaml:"transport" check:"transport"`
	// Diskless iSCSI root (mode iscsi, see iscsichecks.go): secrets are
	// named (luks_key, chap_secret, mutual_chap_secret, discovery_…), never
	// valued.
	ISCSIPortals      *[]string `yaml:"iscsi_portals" check:"portal"`
	ISCSITarget       *string   `yaml:"iscsi_target" check:"iqn"`
	ISCSIInitiator    *string   `yaml:"iscsi_initiator" check:"iqn"` // "{node}" is the node name
	ISCSIMultipath    *string   `yaml:"iscsi_multipath" check:"yesno"`
	ISCSILUN          *string   `yaml:"iscsi_lun" check:"uint"`
	ISCSIVolumeGroups *[]string `yaml:"iscsi_volume_groups" check:"vgname"`
	LUKSKey           *string   `yaml:"luks_key" check:"secretname"`
	CHAPUser          *string   `yaml:"chap_user" check:"chapuser"`
	CHAPSecret        *string   `yaml:"chap_secret" check:"secretname"`
	MutualCHAPUser    *string   `yaml:"mutual_chap_user" check:"chapuser"`
	MutualCHAPSecret  *string   `yaml:"mutual_chap_secret" check:"secretname"`
	// Discovery CHAP (sendtargets), the same way.
	DiscoveryCHAPUser         *string `yaml:"discovery_chap_user" check:"chapuser"`
	DiscoveryCHAPSecret       *string `yaml:"discovery_chap_secret" check:"secretname"`
	DiscoveryMutualCHAPUser   *string `yaml:"discovery_mutual_chap_user" check:"chapuser"`
	DiscoveryMutualCHAPSecret *string `yaml:"discovery_mutual_chap_secret" check:"secretname"`

	// Statelite (mode statelite, see statelite.go): the node's persistent
	// store and, instead of the registry image, an NFS export of the image
	// root; DataExport is where the node mounts bootsrv's data folder
	// (--data) over NFS, for litetree sources written "data:/PATH". The
	// litefile and litetree rules are top-level sections.
	Statelite  *string `yaml:"statelite" check:"export"`
	NFSRoot    *string `yaml:"nfsroot" check:"export"`
	DataExport *string `yaml:"data_export" check:"export"`

	// Diskful install (mode install, see installchecks.go): scripts inline
	// or "file:NAME" under DATA/scripts, the disk by a stable selector.
	Partscript     *string `yaml:"partscript" check:"script"`
	Postscript     *string `yaml:"postscript" check:"script"`
	InstallDisk    *string `yaml:"install_disk" check:"disk"`
	InstallWipe    *string `yaml:"install_wipe" check:"yesno"`
	Bootloader     *string `yaml:"bootloader" check:"bootloader"`
	InstallCmdline *string `yaml:"install_cmdline" check:"line"`

	// Postscripts names scripts in bootsrv's DATA/postscripts that the
	// booted OS runs after its image profile's own (all in name order).
	Postscripts *[]string `yaml:"postscripts" check:"postscript"`

	// Power through the node's BMC over IPMI v2.0 LAN (see bmcchecks.go):
	// the password is the name of a secret in bootsrv's store.
	BMCAddress  *string `yaml:"bmc_address" check:"bmcaddress"`
	BMCUser     *string `yaml:"bmc_user" check:"bmcuser"`
	BMCPassword *string `yaml:"bmc_password" check:"secretname"`
	// SetupBMC "yes": the trap configures the BMC in-band (bmc_address,
	// bmc_user, bmc_password) before the plan runs.
	SetupBMC *string `yaml:"setupbmc" check:"yesno"`
}

// checks validate one string value of an attribute, by check tag.
var checks = map[string]func(string) error{
	"mode": func(s string) error {
		_, err := manifest.ParseMode(s)
		return err
	},
	"authorized_key": checkAuthorizedKey,
	"file":           checkFile,
	"line":           checkLine,
	"cmdline":        ipxe.CheckCmdline, // iPXE's kernel line: an allow-list per token
	"size":           checkSize,
	"word":           checkWord,
	"abspath":        checkAbsPath,
	"transport":      checkTransport,
	"portal":         checkPortal,
	"iqn":            checkIQN,
	"yesno":          checkYesNo,
	"uint":           checkUint,
	"vgname":         checkVGName,
	"secretname":     checkSecretName,
	"chapuser":       checkCHAPUser,
	"export":         checkExport,
	"bmcaddress":     checkBMCAddress,
	"bmcuser":        checkBMCUser,
	// mode install
	"script":     checkScript,
	"disk":       checkDisk,
	"bootloader": checkBootloader,
	"postscript": func(s string) error {
		if !manifest.ValidPostscriptName(s) {
			return fmt.Errorf("postscript %q: want a file name in bootsrv's DATA/postscripts, [a-z0-9][a-z0-9._-]*", s)
		}
		return nil
	},
}

func checkTransport(s string) error {
	switch s {
	case manifest.TransportHTTP, manifest.TransportTorrent:
		return nil
	}
	return fmt.Errorf("transport %q: want http or torrent", s)
}

// attrField describes one field of Attrs.
type attrField struct {
	index int
	key   string
	list  bool // pointer to a slice
	check func(string) error
}

var attrFields = buildAttrFields()

func buildAttrFields() []attrField {
	t := reflect.TypeFor[Attrs]()
	var out []attrField
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		check := checks[f.Tag.Get("check")]
		if key == "" || check == nil || f.Type.Kind() != reflect.Pointer {
			panic(fmt.Sprintf("inventory: Attrs.%s needs a pointer type, a yaml key and a known check tag", f.Name))
		}
		e := f.Type.Elem()
		list := e.Kind() == reflect.Slice
		if list {
			e = e.Elem()
		}
		if e.Kind() != reflect.String {
			panic(fmt.Sprintf("inventory: Attrs.%s must point to a string kind or a slice of one", f.Name))
		}
		out = append(out, attrField{index: i, key: key, list: list, check: check})
	}
	return out
}

// AttrKeys returns the YAML keys of all attributes, in declaration order.
func AttrKeys() []string {
	keys := make([]string, len(attrFields))
	for i, f := range attrFields {
		keys[i] = f.key
	}
	return keys
}

func attrByKey(key string) (attrField, bool) {
	for _, f := range attrFields {
		if f.key == key {
			return f, true
		}
	}
	return attrField{}, false
}

// field returns the reflect value of f in a (a pointer, possibly nil).
func (a *Attrs) field(f attrField) reflect.Value {
	return reflect.ValueOf(a).Elem().Field(f.index)
}

// Map returns the set attributes by YAML key with their values
// (strings, []string, manifest.Mode, ...).
func (a Attrs) Map() map[string]any {
	m := map[string]any{}
	for _, f := range attrFields {
		if v := a.field(f); !v.IsNil() {
			m[f.key] = v.Elem().Interface()
		}
	}
	return m
}

// Val returns *p, or the zero value when the attribute is not set.
func Val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

func checkAuthorizedKey(s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("one authorized_keys line per entry, without newlines")
	}
	if _, _, _, _, err := ssh.ParseAuthorizedKey([]byte(s)); err != nil {
		return fmt.Errorf("invalid SSH public key: %v", err)
	}
	return nil
}

// checkLine rejects control characters: values end up in iPXE scripts and
// kernel command lines, where a newline would inject commands.
func checkLine(s string) error {
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("control character %q not allowed", r)
		}
	}
	return nil
}

// checkFile accepts a clean relative path below bootsrv's boot folder.
func checkFile(s string) error {
	if err := checkLine(s); err != nil {
		return err
	}
	if s == "" {
		return nil
	}
	if strings.HasPrefix(s, "/") || path.Clean(s) != s || s == ".." || strings.HasPrefix(s, "../") {
		return fmt.Errorf("want a clean relative file name, got %q", s)
	}
	if strings.ContainsAny(s, " \\") {
		return fmt.Errorf("file name %q contains a space or backslash", s)
	}
	return ipxe.CheckBootFile(s) // it goes into an iPXE script's URLs
}
