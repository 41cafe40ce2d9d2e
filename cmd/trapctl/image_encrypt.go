package main

import (
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/secrets"
	"github.com/disklesstrap/disklesstrap/images/rawdisk"
	"github.com/disklesstrap/disklesstrap/noderange"
)

type imageEncryptFlags struct {
	name, out, secret, rng, pbkdf string
	force                         bool
}

var imageEncryptOpts imageEncryptFlags

var imageEncrypt = &command{
	name: "image encrypt", args: "RAW --name NAME [flags]",
	summary: "encrypt a raw disk image as LUKS2 with a new key kept in bootsrv's secret store",
	help: `Writes FILE (default: NAME.luks beside RAW) = a LUKS2 header + RAW encrypted
with AES-XTS-plain64, under a newly generated random volume key and a random
passphrase (32 random bytes, base64url). The passphrase is stored in bootsrv's
secret store as SECRET (default luks-NAME; --range: for those nodes only) and
is never printed, logged or written to a file here: see it with trapctl secret
show SECRET. Nodes reference it with the inventory attribute luks_key: SECRET;
push it into trapped nodes with trapctl luks push RANGE NAME. Needs cryptsetup
(header only: no device-mapper) and bootsrv on this host (secrets are accepted
from loopback only). FILE appears only once the key is stored; an existing
FILE or SECRET is kept unless --force.`,
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) {
		o := &imageEncryptOpts
		*o = imageEncryptFlags{}
		fs.StringVar(&o.name, "name", "", "image name: 1-64 letters, digits, '.', '_' or '-' (required)")
		fs.StringVar(&o.out, "out", "", "encrypted image file (default: RAW's folder/NAME.luks)")
		fs.StringVar(&o.secret, "secret", "", "secret name of the passphrase in bootsrv (default luks-NAME)")
		fs.StringVar(&o.rng, "range", "", "node range the secret is for (default: every node)")
		fs.StringVar(&o.pbkdf, "pbkdf", "pbkdf2", "key slot PBKDF: pbkdf2 (1000 iterations: the passphrase is 256 random bits, and\nemulated nodes open it fast) or argon2id (cryptsetup's benchmarked default; ~1 GiB RAM to open)")
		fs.BoolVar(&o.force, "force", false, "replace an existing FILE and an existing SECRET")
	},
	run: runImageEncrypt,
}

// encryptResult is what image encrypt prints (-o json). It never holds
// the key.
type encryptResult struct {
	Path          string `json:"path"`
	Size          int64  `json:"size"`
	UUID          string `json:"uuid"`
	PayloadOffset int64  `json:"payload_offset"`
	Secret        string `json:"secret"`
	Range         string `json:"range,omitempty"`
	Inventory     string `json:"inventory"`
}

func runImageEncrypt(e *env, args []string) error {
	o := &imageEncryptOpts
	raw := args[0]
	if o.name == "" {
		return usagef("image encrypt: --name is required")
	}
	if err := secrets.CheckName("image", o.name); err != nil {
		return usagef("--name: %v", err)
	}
	secret := o.secret
	if secret == "" {
		secret = "luks-" + o.name
	}
	if err := secrets.CheckName("secret", secret); err != nil {
		return usagef("--secret %s: %v (a default luks-NAME needs NAME of at most 59 characters)", secret, err)
	}
	if o.pbkdf != "pbkdf2" && o.pbkdf != "argon2id" {
		return usagef("--pbkdf: want pbkdf2 or argon2id, got %q", o.pbkdf)
	}
	size, err := checkRaw(raw)
	if err != nil {
		return err
	}
	out := o.out
	if out == "" {
		out = filepath.Join(filepath.Dir(raw), o.name+".luks")
	}
	if abs, err := filepath.Abs(out); err == nil {
		out = abs
	}
	if same, _ := sameFile(raw, out); same {
		return fmt.Errorf("image encrypt: output %s is the raw image itself", out)
	}
	if _, err := os.Lstat(out); err == nil && !o.force {
		return fmt.Errorf("image encrypt: %s exists: --force replaces it, or choose another --out", out)
	}
	if err := rawdisk.CheckCryptsetup(); err != nil {
		return fmt.Errorf("image encrypt: %w", err)
	}
	// Fail before the long part: bootsrv must answer and must not hold
	// another image's key under this name.
	if err := checkSecretFree(e, secret, o.rng, o.force); err != nil {
		return err
	}

	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("image encrypt: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	keep := false
	defer func() {
		if !keep {
			os.Remove(tmpPath)
		}
	}()

	volKey, pass, err := newLUKSKeys()
	if err != nil {
		return err
	}
	defer clear(volKey)
	defer clear(pass)

	prog := newByteProgress(e.stderr, "encrypt")
	start := time.Now()
	info, err := rawdisk.Encrypt(e.ctx, raw, tmpPath, volKey, pass, rawdisk.LUKSOptions{PBKDF: o.pbkdf, Progress: prog.update})
	prog.done()
	if err != nil {
		return fmt.Errorf("image encrypt %s: %w", raw, err)
	}
	took := time.Since(start)
	clear(volKey) // the header holds it, sealed by pass; nothing else needs it

	q := url.Values{}
	if o.rng != "" {
		q.Set("range", o.rng)
	}
	if _, err := secretRequest(e, "PUT", "/api/v1/secrets/"+secret, q, pass); err != nil {
		return fmt.Errorf("image encrypt: storing the key in bootsrv failed, so no image was written (its key would be lost): %w", err)
	}
	clear(pass)
	if err := os.Chmod(tmpPath, 0o644); err != nil { // ciphertext: readable by the iSCSI target
		return fmt.Errorf("image encrypt: %w", err)
	}
	if err := publish(tmpPath, out, o.force); err != nil {
		return fmt.Errorf("image encrypt: key stored in bootsrv as %s, but the image was not written: %w (run again with --force)", secret, err)
	}
	keep = true
	printf(e.stderr, "encrypted %s in %s (%s/s)\n", humanBytes(size), round(took), humanBytes(rate(size, took)))

	res := encryptResult{Path: out, Size: info.PayloadOffset + info.PayloadSize, UUID: info.UUID,
		PayloadOffset: info.PayloadOffset, Secret: secret, Range: o.rng, Inventory: "luks_key: " + secret}
	if e.output == "json" {
		return writeJSON(e.stdout, res)
	}
	scope := "every node"
	if o.rng != "" {
		scope = "nodes " + o.rng
	}
	printf(e.stdout, "wrote %s: %s (%d bytes), LUKS2 %s, UUID %s\n", out, humanBytes(res.Size), res.Size, rawdisk.Cipher, info.UUID)
	printf(e.stdout, "key stored in bootsrv as secret %s for %s (not shown; trapctl secret show %s)\n", secret, scope, secret)
	printf(e.stdout, "inventory: %s\n", res.Inventory)
	printf(e.stdout, "push to trapped nodes: trapctl luks push RANGE %s\n", pushImageArg(o.name, secret))
	return nil
}

// pushImageArg is the luks push arguments that fetch secret.
func pushImageArg(name, secret string) string {
	if secret == "luks-"+name {
		return name
	}
	return name + " --secret " + secret
}

// newLUKSKeys returns a random volume key and a random passphrase (32
// random bytes as base64url text); the caller zeroes both.
func newLUKSKeys() (volKey, pass []byte, err error) {
	volKey = make([]byte, rawdisk.VolumeKeySize)
	seed := make([]byte, 32)
	defer clear(seed)
	if _, err := rand.Read(volKey); err != nil {
		return nil, nil, fmt.Errorf("image encrypt: random volume key: %w", err)
	}
	if _, err := rand.Read(seed); err != nil {
		clear(volKey)
		return nil, nil, fmt.Errorf("image encrypt: random passphrase: %w", err)
	}
	pass = make([]byte, base64.RawURLEncoding.EncodedLen(len(seed)))
	base64.RawURLEncoding.Encode(pass, seed)
	return volKey, pass, nil
}

// checkSecretFree fails when bootsrv is unreachable or its secret store
// is off, and (unless force) when secret already resolves for the scope
// the new key would be stored in.
func checkSecretFree(e *env, secret, rng string, force bool) error {
	nodes := []string{""} // "": the every-node value
	if rng != "" {
		st, err := e.client().Status(e.ctx, rng)
		if err != nil {
			return fmt.Errorf("image encrypt: --range %s: %w", rng, bootsrvErr(e, err))
		}
		nodes = nodes[:0]
		for _, s := range st {
			nodes = append(nodes, s.Node)
		}
	}
	var taken []string
	for _, n := range nodes {
		v, found, err := fetchSecret(e, secret, n)
		clear(v)
		if err != nil {
			return fmt.Errorf("image encrypt: %w", bootsrvErr(e, err))
		}
		if found {
			taken = append(taken, n)
		}
	}
	if len(taken) > 0 && !force {
		who := "every node"
		if rng != "" {
			who = noderange.Compact(taken)
		}
		return fmt.Errorf("image encrypt: bootsrv already holds secret %s (for %s), perhaps the key of an earlier image: --force replaces it, or choose --secret", secret, who)
	}
	return nil
}
