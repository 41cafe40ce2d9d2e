package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/images"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// Images of replicas (bootsrv --state-db postgres://...): each replica
// serves the registry of its own --data folder. Every few seconds a
// replica lists in the shared database the images it has that are not
// listed (or newer than the listed one), with its own URL as origin
// (--replica-url), and fetches the listed images it lacks (or has an older
// copy of) from their origin's GET /images/NAME. images.Registry.Put
// verifies the sha256 while it stores, so a replica lists an image, and
// its API and script paths advertise it, only once the bytes are right.
// Deleting an image is not shared: delete it on every replica.

// replicaURL is the base URL other replicas fetch this one's images from.
func (s *Server) replicaURL() string {
	if s.cfg.ReplicaURL != "" {
		return s.cfg.ReplicaURL
	}
	host, port, err := net.SplitHostPort(s.cfg.HTTPAddr)
	if err != nil || host == "" || net.ParseIP(host) == nil || net.ParseIP(host).IsUnspecified() {
		return ""
	}
	return "http://" + net.JoinHostPort(host, port)
}

// openSharedImages opens the registry the API and the image follower
// share (shared store only; nil: the API opens its own).
func (s *Server) openSharedImages() *images.Registry {
	if !s.store.Shared() {
		return nil
	}
	if s.replicaURL() == "" {
		s.log.Warn("images are not shared with the replicas: --http has no address others can reach; set --replica-url")
		return nil
	}
	reg, err := images.Open(filepath.Join(s.cfg.DataDir, "images"))
	if err != nil {
		s.log.Error("image registry", "err", err)
		return nil
	}
	s.images = reg
	return reg
}

// followImages shares and fetches images every interval until ctx ends.
func (s *Server) followImages(ctx context.Context, every time.Duration) {
	hc := &http.Client{Timeout: 30 * time.Minute}
	ticking(ctx, every, func(ctx context.Context) {
		if err := s.syncImages(ctx, hc); err != nil {
			s.log.Warn("images of the replicas", "err", err)
		}
	})
}

func (s *Server) syncImages(ctx context.Context, hc *http.Client) error {
	shared, err := s.store.SharedImages(ctx)
	if err != nil {
		return err
	}
	local, err := s.images.List()
	if err != nil {
		return err
	}
	have := make(map[string]images.Record, len(local))
	for _, r := range local {
		have[r.Name] = r
	}
	listed := make(map[string]state.SharedImage, len(shared))
	for _, im := range shared {
		listed[im.Name] = im
	}
	self := s.replicaURL()
	for _, r := range local {
		im, ok := listed[r.Name]
		if ok && (im.SHA256 == r.SHA256 || im.Created >= r.Created.UnixNano()) {
			continue
		}
		rec, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := s.store.PublishImage(state.SharedImage{Name: r.Name, SHA256: r.SHA256, Origin: self,
			Record: rec, Created: r.Created.UnixNano()}); err != nil {
			return err
		}
		s.log.Info("image listed for the replicas", "image", r.Name, "sha256", r.SHA256)
	}
	for _, im := range shared {
		if r, ok := have[im.Name]; ok && (r.SHA256 == im.SHA256 || r.Created.UnixNano() > im.Created) || im.Origin == self {
			continue
		}
		if err := s.fetchImage(ctx, hc, im, have); err != nil {
			s.log.Error("image from a replica not stored", "image", im.Name, "origin", im.Origin, "err", err)
		}
	}
	return nil
}

// fetchImage downloads im from its origin into the registry; Put checks
// the sha256 (and size) before the image exists here.
func (s *Server) fetchImage(ctx context.Context, hc *http.Client, im state.SharedImage, have map[string]images.Record) error {
	var rec images.Record
	if err := json.Unmarshal(im.Record, &rec); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, im.Origin+"/images/"+im.Name, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s/images/%s: %s", im.Origin, im.Name, resp.Status)
	}
	rec.SHA256 = im.SHA256
	put := s.images.Put
	if _, ok := have[im.Name]; ok {
		put = s.images.Replace
	}
	got, err := put(rec, resp.Body)
	if err != nil {
		return err
	}
	s.log.Info("image fetched from a replica", "image", got.Name, "origin", im.Origin, "sha256", got.SHA256, "size", got.Size)
	return nil
}
