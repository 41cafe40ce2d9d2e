package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/disklesstrap/disklesstrap/api"
	"github.com/disklesstrap/disklesstrap/bootsrv/tlscert"
	"github.com/disklesstrap/disklesstrap/initrd"
)

// tlsCertPath is bootsrv's route for its TLS certificate (loopback only).
const tlsCertPath = "/api/v1/tls/cert"

// pinnedCert is the image file that pins bootsrv's TLS certificate, from
// flag (a PEM file; "none": no pin) or, when flag is empty, from bootsrv.
// A given file must hold a certificate; a failed fetch is a warning on
// stderr (the image is built without a pin: its nodes cannot pull
// secrets) and nil. The fingerprint goes to stderr either way.
func pinnedCert(e *env, flag string) (*initrd.File, error) {
	var (
		pem    []byte
		source string
		err    error
	)
	switch flag {
	case "none":
		printLine(e.stderr, "trapctl: no bootsrv certificate pinned (-bootsrv-cert none): nodes of this image cannot pull secrets; push them (trapctl luks push)")
		return nil, nil
	case "":
		source = e.server + tlsCertPath
		if pem, err = fetchCert(e); err != nil {
			printf(e.stderr, "trapctl: warning: no bootsrv certificate pinned: %v\n"+
				"trapctl: warning: nodes of this image cannot pull secrets over TLS; push them (trapctl luks push), or rebuild with -bootsrv-cert FILE (bootsrv's STATE/tls/cert.pem)\n", err)
			return nil, nil
		}
	default:
		source = flag
		if pem, err = os.ReadFile(flag); err != nil {
			return nil, fmt.Errorf("-bootsrv-cert: %w", err)
		}
	}
	fp, err := tlscert.Fingerprint(pem)
	if err != nil {
		return nil, fmt.Errorf("bootsrv certificate from %s: %w", source, err)
	}
	printf(e.stderr, "trapctl: pinning bootsrv certificate sha256 %s (from %s) at /%s\n", fp, source, initrd.BootsrvCertPath)
	return &initrd.File{Path: initrd.BootsrvCertPath, Data: pem, Mode: 0o644}, nil
}

// fetchCert asks bootsrv for its certificate.
func fetchCert(e *env) ([]byte, error) {
	req, err := http.NewRequestWithContext(e.ctx, http.MethodGet, e.base+tlsCertPath, nil)
	if err != nil {
		return nil, err
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("bootsrv at %s unreachable: %w", e.server, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", tlsCertPath, err)
	}
	if resp.StatusCode != http.StatusOK {
		var ae api.Error
		if json.Unmarshal(b, &ae) == nil && ae.Error != "" {
			return nil, fmt.Errorf("GET %s: %s", tlsCertPath, ae.Error)
		}
		return nil, fmt.Errorf("GET %s: %s", tlsCertPath, resp.Status)
	}
	return b, nil
}
