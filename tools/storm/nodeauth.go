package storm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/disklesstrap/disklesstrap/nodeauth"
	"github.com/disklesstrap/disklesstrap/trap/bootclient"
)

// Node authentication in the storm: each simulated node does what the
// agent does (package nodeauth). It makes a boot key, registers it with
// bootclient.Registrar from its own loopback address (NodeIP, local on lo)
// and a privileged source port (the storm runs as root), and signs its
// events, which it sends from that address.

// nodeClient is one boot's signed HTTP side of node i.
type nodeClient struct {
	http   *http.Client
	signer *nodeauth.Signer
}

// register registers a fresh boot key for node i. When bootsrv answers
// that no boot is open (a SIGKILL lost the queued boot counter of the
// script it served), the node boots again: it fetches its script anew.
func (s *storm) register(ctx context.Context, i int) (*nodeClient, error) {
	name, mac := NodeName(i), NodeMAC(i)
	_, priv, err := nodeauth.NewKey()
	if err != nil {
		return nil, err
	}
	ip := NodeIP(i).AsSlice()
	var signer *nodeauth.Signer
	err = s.retry(ctx, "register", func() error {
		g := &bootclient.Registrar{Local: ip, Attempts: 1}
		sg, err := g.Register(ctx, s.pickBase(), name, mac, priv)
		var re *bootclient.RegisterError
		if errors.As(err, &re) && strings.Contains(re.Msg, "no open boot") {
			if _, err := s.get(ctx, "/ipxe?mac="+mac.String()+"&platform=pcbios"); err != nil {
				return fmt.Errorf("script again: %w", err)
			}
		}
		signer = sg
		return err
	})
	if err != nil {
		return nil, err
	}
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
	tr := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 1}
	return &nodeClient{http: &http.Client{Transport: tr, Timeout: 5 * time.Second}, signer: signer}, nil
}

// post sends one signed JSON request from the node's address.
func (c *nodeClient) post(ctx context.Context, url string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	c.signer.Sign(req, b)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func (c *nodeClient) close() { c.http.CloseIdleConnections() }
