package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"wasmbox/cluster"
	"wasmbox/sessions"
)

// leaseTTL is how long a replica's hold on a session outlives the replica (a crashed or
// paused replica's sessions wait that long before another takes them over).
const leaseTTL = 10 * time.Second

// openCluster starts cluster mode when WASMBOX_STORE and WASMBOX_REDIS_URL say so (nil, nil
// otherwise: local mode), after checking that both answer.
func openCluster(ctx context.Context, getenv func(string) string, log *slog.Logger) (*sharedStore, error) {
	holder := getenv("WASMBOX_REPLICA")
	if holder == "" {
		host, _ := os.Hostname()
		holder = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	st, objects, leases, err := cluster.FromEnv(getenv, holder, leaseTTL)
	if err != nil || st == nil {
		return nil, err
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := objects.Check(cctx); err != nil {
		leases.Close()
		return nil, fmt.Errorf("WASMBOX_STORE: %w", err)
	}
	if err := leases.Check(cctx); err != nil {
		leases.Close()
		return nil, fmt.Errorf("WASMBOX_REDIS_URL: %w", err)
	}
	key, err := leases.Secret(cctx, "mcp-session-ids")
	if err != nil {
		leases.Close()
		return nil, fmt.Errorf("WASMBOX_REDIS_URL: %w", err)
	}
	log.Info("cluster mode: sessions are kept in the shared store", "store", getenv("WASMBOX_STORE"), "replica", holder)
	return &sharedStore{st: st, leases: leases, mcpKey: key}, nil
}

// sharedStore is cluster mode's store as package sessions sees it.
type sharedStore struct {
	st     *cluster.Store
	leases *cluster.Leases
	mcpKey []byte // signs MCP session ids, so every replica accepts them
}

func (s *sharedStore) Hold(ctx context.Context, id, dir string, create bool) (sessions.Held, error) {
	h, err := s.st.Hold(ctx, id, dir, create)
	if errors.Is(err, cluster.ErrGone) {
		return nil, fmt.Errorf("%w: %v", sessions.ErrNotFound, err)
	}
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (s *sharedStore) Delete(ctx context.Context, id string) error { return s.st.Delete(ctx, id) }

func (s *sharedStore) close() { s.leases.Close() }
