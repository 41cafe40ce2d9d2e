package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/disklesstrap/disklesstrap/bootsrv/inventory"
	"github.com/disklesstrap/disklesstrap/bootsrv/state"
)

// The inventory of replicas (bootsrv --state-db postgres://...) is the
// text in the shared database (state.Store.SharedInventory); each
// replica's --config file is its local copy, rewritten whenever a newer
// version arrives, so a replica restarted while the database is down
// still has the last known inventory. A replica publishes its file when
// the database has none yet and at every successful reload (SIGHUP), and
// follows the others' publications within a second (followInventory).
// An invalid text from the database is logged and ignored: the inventory
// in force stays.

// joinInventory is New's step for a shared store: take the database's
// inventory when there is one, else publish the local file.
func (s *Server) joinInventory() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	text, v, src, err := s.store.SharedInventory(ctx)
	if err != nil {
		return err
	}
	if v == 0 {
		err := s.publishInventory()
		if !errors.Is(err, state.ErrInventoryConflict) {
			return err
		}
		// Another replica published first: take its inventory.
		if text, v, src, err = s.store.SharedInventory(ctx); err != nil {
			return err
		}
	}
	return s.adoptInventory(text, v, src)
}

// publishInventory stores the --config file as the replicas' inventory.
func (s *Server) publishInventory() error {
	data, err := os.ReadFile(s.cfg.ConfigPath)
	if err != nil {
		return fmt.Errorf("publish inventory: %w", err)
	}
	host, _ := os.Hostname()
	c := s.cluster.Load()
	v, err := s.store.PublishInventory(data, fmt.Sprintf("%s:%s", host, s.cfg.ConfigPath), s.invVersion.Load())
	if err != nil {
		return fmt.Errorf("publish inventory %s: %w", s.cfg.ConfigPath, err)
	}
	s.invVersion.Store(v)
	s.invCluster.Store(c)
	s.log.Info("inventory published to the replicas", "file", s.cfg.ConfigPath, "version", v)
	return nil
}

// adoptInventory puts text (version v) in force and into the local copy.
func (s *Server) adoptInventory(text []byte, v int64, src string) error {
	c, err := inventory.Parse(s.cfg.ConfigPath, text)
	if err != nil {
		return fmt.Errorf("shared inventory version %d from %s (keeping the inventory in force): %w", v, src, err)
	}
	if old, err := os.ReadFile(s.cfg.ConfigPath); err != nil || !bytes.Equal(old, text) {
		if err := writeFileAtomic(s.cfg.ConfigPath, text); err != nil {
			s.log.Warn("shared inventory: local copy not written", "file", s.cfg.ConfigPath, "err", err)
		}
	}
	s.setCluster(c)
	s.invVersion.Store(v)
	s.invCluster.Store(c)
	s.log.Info("inventory from the replicas in force", "version", v, "source", src, "nodes", len(c.Nodes()))
	return nil
}

// followInventory polls the shared inventory's version every interval and
// adopts a newer one, until ctx ends.
func (s *Server) followInventory(ctx context.Context, every time.Duration) {
	ticking(ctx, every, s.inventoryTick)
}

// ticking calls fn every interval until ctx ends.
func ticking(ctx context.Context, every time.Duration, fn func(context.Context)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// inventoryTick shares a local node edit and adopts a newer version.
func (s *Server) inventoryTick(ctx context.Context) {
	if s.cluster.Load() != s.invCluster.Load() {
		// A node edit through this replica's API rewrote --config.
		if err := s.publishInventory(); err != nil {
			s.log.Error("inventory edit not shared with the replicas", "err", err)
			if !errors.Is(err, state.ErrInventoryConflict) {
				return // database down: retry at the next tick
			}
			s.invVersion.Store(0) // adopt the newer version below
		}
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	v, err := s.store.InventoryVersion(rctx)
	if err == nil && v > s.invVersion.Load() {
		var text []byte
		var src string
		if text, v, src, err = s.store.SharedInventory(rctx); err == nil {
			if err := s.adoptInventory(text, v, src); err != nil {
				s.log.Error("shared inventory", "err", err)
				s.invVersion.Store(v) // do not retry the same bad text every second
			}
		}
	}
	cancel()
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if fi, err := os.Stat(path); err == nil {
		os.Chmod(tmp.Name(), fi.Mode().Perm())
	}
	return os.Rename(tmp.Name(), path)
}
