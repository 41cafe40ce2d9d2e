package main

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// fieldsHelp documents key=value arguments of node add / node set.
const fieldsHelp = `Arguments are key=value, keys as in cluster.yaml:
  mode=iscsi kernel=vmlinuz initrd=trap.cpio.gz cmdline="console=ttyS0 quiet" image=... console=...
  image=NAME zram_size=2G zram_algorithm=zstd overlays=/,/var   (mode ramroot)
  transport=torrent         ramroot image over BitTorrent (initrd build --torrent); default http
  groups=compute,base       lists (groups, ssh_keys, overlays) are comma separated
  ssh_keys="ssh-ed25519 AAAA... admin@site"
  key=[a, b] / key={...}    a value starting with [ or { is a YAML flow collection
  key=                      empty value: remove the key from the node (inherit again)
  mac=52:54:00:00:00:05 ip=198.18.0.15 network=lab [iface=net0]
                            shorthand for one interface: interfaces=[{name: net0, ...}]
Other values are sent as strings, never reinterpreted as numbers or booleans.`

// listKeys are the node-entry keys whose value is a list of strings.
var listKeys = map[string]bool{"groups": true, "ssh_keys": true, "overlays": true}

// ifaceKeys are the shorthand keys of a single interface.
var ifaceKeys = map[string]string{"mac": "mac", "ip": "ip", "network": "network", "iface": "name"}

// parseFields turns key=value arguments into node-entry fields.
func parseFields(args []string) (map[string]any, error) {
	fields := map[string]any{}
	iface := map[string]any{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, usagef("argument %q: want key=value", a)
		}
		if _, dup := fields[k]; dup {
			return nil, usagef("key %s given twice", k)
		}
		if ik, ok := ifaceKeys[k]; ok {
			if _, dup := iface[ik]; dup {
				return nil, usagef("key %s given twice", k)
			}
			iface[ik] = v
			continue
		}
		val, err := parseValue(k, v)
		if err != nil {
			return nil, err
		}
		fields[k] = val
	}
	if len(iface) > 0 {
		if _, ok := fields["interfaces"]; ok {
			return nil, usagef("give either interfaces= or the mac=/ip=/network=/iface= shorthand, not both")
		}
		if _, ok := iface["name"]; !ok {
			iface["name"] = "net0"
		}
		fields["interfaces"] = []any{iface}
	}
	return fields, nil
}

func parseValue(k, v string) (any, error) {
	switch {
	case v == "":
		return nil, nil
	case strings.HasPrefix(v, "[") || strings.HasPrefix(v, "{"):
		var out any
		if err := yaml.Unmarshal([]byte(v), &out); err != nil {
			return nil, usagef("key %s: value is not a YAML flow collection: %v", k, err)
		}
		return jsonable(out), nil
	case listKeys[k]:
		var out []string
		for _, item := range strings.Split(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
		return out, nil
	}
	return v, nil
}

// jsonable converts YAML-decoded maps with non-string keys for encoding/json.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			t[k] = jsonable(x)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[fmt.Sprint(k)] = jsonable(x)
		}
		return m
	case []any:
		for i, x := range t {
			t[i] = jsonable(x)
		}
		return t
	}
	return v
}
