package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"wasmbox/cluster"
	"wasmbox/runtime"
	"wasmbox/sessions"
)

// Cluster mode's timings: how long a replica's hold on a session outlives the replica (a
// crashed or paused replica's sessions wait that long before another takes them over), and
// how long an idle session stays held (warm) by the replica that ran it last.
const (
	leaseTTL = 10 * time.Second
	warmFor  = 5 * time.Minute
)

// forwardPath is where replicas send each other the calls for sessions they hold; a call is at
// most maxForward bytes (1 MiB of code, escaped in JSON), signed at most forwardSkew ago.
const (
	forwardPath = "/internal/cluster/run"
	maxForward  = 8 << 20
	forwardSkew = 5 * time.Minute
)

// openCluster starts cluster mode when WASMBOX_STORE and WASMBOX_REDIS_URL say so (nil, nil
// otherwise: local mode), after checking that both answer. addr is the address serve listens on,
// for a replica URL made up when WASMBOX_REPLICA_URL is not set.
func openCluster(ctx context.Context, getenv func(string) string, addr string, log *slog.Logger) (*sharedStore, error) {
	self := getenv("WASMBOX_REPLICA_URL")
	if self == "" {
		host, _ := os.Hostname()
		port := addr[strings.LastIndexByte(addr, ':')+1:]
		self = "http://" + host + ":" + port
	}
	if !strings.HasPrefix(self, "http://") && !strings.HasPrefix(self, "https://") || strings.ContainsAny(self, " \n") {
		return nil, fmt.Errorf("WASMBOX_REPLICA_URL %q: want the http:// URL other replicas reach this one at", self)
	}
	st, objects, leases, err := cluster.FromEnv(getenv, strings.TrimSuffix(self, "/"), leaseTTL, warmFor)
	if err != nil || st == nil {
		return nil, err
	}
	fail := func(what string, err error) (*sharedStore, error) {
		st.Close()
		leases.Close()
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := objects.Check(cctx); err != nil {
		return fail("WASMBOX_STORE", err)
	}
	if err := leases.Check(cctx); err != nil {
		return fail("WASMBOX_REDIS_URL", err)
	}
	mcpKey, err := leases.Secret(cctx, "mcp-session-ids")
	if err != nil {
		return fail("WASMBOX_REDIS_URL", err)
	}
	callKey, err := leases.Secret(cctx, "forwarded-calls")
	if err != nil {
		return fail("WASMBOX_REDIS_URL", err)
	}
	log.Info("cluster mode: sessions are kept in the shared store", "store", getenv("WASMBOX_STORE"), "replica", st.Holder())
	return &sharedStore{st: st, leases: leases, mcpKey: mcpKey, callKey: callKey,
		client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}}}, nil
}

// sharedStore is cluster mode's store as package sessions sees it, and the forwarding of calls
// between replicas.
type sharedStore struct {
	st      *cluster.Store
	leases  *cluster.Leases
	mcpKey  []byte // signs MCP session ids, so every replica accepts them
	callKey []byte // signs forwarded calls
	client  *http.Client
}

func (s *sharedStore) Hold(ctx context.Context, id, dir string, mode sessions.HoldMode) (sessions.Held, error) {
	m := cluster.Existing
	switch mode {
	case sessions.HoldCreate:
		m = cluster.Create
	case sessions.HoldOnlyWarm:
		m = cluster.OnlyWarm
	}
	h, err := s.st.Hold(ctx, id, dir, m)
	var held *cluster.HeldError
	switch {
	case err == nil:
		return h, nil
	case errors.Is(err, cluster.ErrGone):
		return nil, fmt.Errorf("%w: %v", sessions.ErrNotFound, err)
	case errors.Is(err, cluster.ErrNotHeld):
		return nil, fmt.Errorf("%w: %v", sessions.ErrNotHolder, err)
	case errors.As(err, &held):
		return nil, &sessions.Elsewhere{Holder: held.Holder}
	}
	return nil, err
}

func (s *sharedStore) Want(ctx context.Context, id, holder string) error {
	return s.st.Want(ctx, id, holder)
}

func (s *sharedStore) ReadFile(ctx context.Context, id, rel string, max int64) ([]byte, error) {
	b, err := s.st.ReadFile(ctx, id, rel, max)
	if errors.Is(err, cluster.ErrGone) || errors.Is(err, cluster.ErrNoObject) {
		return nil, fmt.Errorf("%w: %v", sessions.ErrNotFound, err)
	}
	return b, err
}

func (s *sharedStore) Delete(ctx context.Context, id string) error { return s.st.Delete(ctx, id) }

func (s *sharedStore) Forget(id string) { s.st.Forget(id) }

func (s *sharedStore) Remove(ctx context.Context, id string) error { return s.st.Remove(ctx, id) }

// listingInfo is what the directory keeps of a session besides its owner and last use.
type listingInfo struct {
	Created   time.Time `json:"c"`
	Runs      int       `json:"r"`
	Languages []string  `json:"l,omitempty"`
}

func toListing(e sessions.Listing) (cluster.Listing, error) {
	b, err := json.Marshal(listingInfo{Created: e.Created, Runs: e.Runs, Languages: e.Languages})
	return cluster.Listing{ID: e.ID, Owner: e.Owner, LastUsed: e.LastUsed, Info: b}, err
}

func (s *sharedStore) Admit(ctx context.Context, e sessions.Listing, perOwner, total int) (sessions.Full, error) {
	l, err := toListing(e)
	if err != nil {
		return sessions.NotFull, err
	}
	full, err := s.leases.Admit(ctx, l, perOwner, total)
	switch full {
	case cluster.OwnerFull:
		return sessions.OwnerFull, err
	case cluster.AllFull:
		return sessions.AllFull, err
	}
	return sessions.NotFull, err
}

func (s *sharedStore) Touch(ctx context.Context, e sessions.Listing) error {
	l, err := toListing(e)
	if err != nil {
		return err
	}
	return s.leases.Touch(ctx, l)
}

func fromListings(list []cluster.Listing) []sessions.Listing {
	out := make([]sessions.Listing, 0, len(list))
	for _, l := range list {
		var info listingInfo
		_ = json.Unmarshal(l.Info, &info) // a listing without info shows its id and last use
		out = append(out, sessions.Listing{ID: l.ID, Owner: l.Owner, LastUsed: l.LastUsed, Created: info.Created, Runs: info.Runs, Languages: info.Languages})
	}
	return out
}

func (s *sharedStore) Listed(ctx context.Context, owner string, max int) ([]sessions.Listing, error) {
	list, err := s.leases.Listed(ctx, owner, max)
	return fromListings(list), err
}

func (s *sharedStore) Idle(ctx context.Context, owner string, before time.Time, max int) ([]sessions.Listing, error) {
	list, err := s.leases.Idle(ctx, owner, before, max)
	return fromListings(list), err
}

// directoryBuilt is the flag that says the directory lists the store's sessions; Redis loses
// it with its data.
const directoryBuilt = "directory-built"

func (s *sharedStore) Sweep(ctx context.Context, every time.Duration) (turn, rebuild bool, err error) {
	if turn, err = s.leases.Turn(ctx, "sweep", s.st.Holder(), every); !turn || err != nil {
		return false, false, err
	}
	built, err := s.leases.Marked(ctx, directoryBuilt)
	return true, !built, err
}

func (s *sharedStore) Stored(ctx context.Context, max int) ([]string, error) {
	return s.st.Sessions(ctx, max)
}

func (s *sharedStore) Rebuilt(ctx context.Context) error { return s.leases.Mark(ctx, directoryBuilt) }

func (s *sharedStore) close() {
	s.st.Close()
	s.leases.Close()
}

// forwardCall is a run one replica asks the replica holding the session to do.
type forwardCall struct {
	Session  string          `json:"session_id"`
	Request  runtime.Request `json:"request"`
	Deadline time.Time       `json:"deadline"`
}

// forwardReply is its answer: the run's result with its images, or why there is none.
type forwardReply struct {
	Result     *runtime.Result `json:"result,omitempty"`
	Images     []forwardImage  `json:"images,omitempty"`
	DurationNS int64           `json:"duration_ns"`
	Error      string          `json:"error,omitempty"`
}

type forwardImage struct {
	MIME string `json:"mime"`
	Data []byte `json:"data"`
}

func (s *sharedStore) sign(b []byte) string {
	h := hmac.New(sha256.New, s.callKey)
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// Forward implements [sessions.Shared].
func (s *sharedStore) Forward(ctx context.Context, holder, id string, req runtime.Request, deadline time.Time) (*runtime.Result, error) {
	if holder == s.st.Holder() {
		// This replica's own hold, from before a restart: it ends with the lease's TTL.
		return nil, fmt.Errorf("the session is held by an earlier process of this replica")
	}
	body, err := json.Marshal(forwardCall{Session: id, Request: req, Deadline: deadline})
	if err != nil {
		return nil, err
	}
	// A holder that stops answering (paused, cut off) loses its lease within its TTL: the call
	// then ends, and the caller takes the session over.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		t := time.NewTicker(leaseTTL / 10)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if who, err := s.leases.HolderOf(ctx, id); err == nil && who != holder {
				cancel(fmt.Errorf("replica %s lost its hold on the session", holder))
				return
			}
		}
	}()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, holder+forwardPath, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("X-Wasmbox-Cluster", s.sign(body))
	stamp := strconv.FormatInt(time.Now().Unix(), 10)
	hr.Header.Set("X-Wasmbox-Cluster-Time", stamp)
	hr.Header.Set("X-Wasmbox-Cluster-Auth", s.sign([]byte("forward "+stamp)))
	resp, err := s.client.Do(hr)
	if err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return nil, cause
		}
		return nil, err
	}
	defer resp.Body.Close()
	var rep forwardReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&rep); err != nil {
		return nil, fmt.Errorf("replica %s: %d: %w", holder, resp.StatusCode, err)
	}
	switch {
	case resp.StatusCode == http.StatusConflict:
		return nil, fmt.Errorf("%w: %s", sessions.ErrNotHolder, rep.Error)
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("%w: %s", sessions.ErrNotFound, rep.Error)
	case resp.StatusCode == http.StatusServiceUnavailable:
		return nil, fmt.Errorf("%w: replica %s: %s", sessions.ErrBusy, holder, rep.Error)
	case resp.StatusCode != http.StatusOK || rep.Result == nil:
		return nil, fmt.Errorf("replica %s: %d: %s", holder, resp.StatusCode, rep.Error)
	}
	res := rep.Result
	res.Duration = time.Duration(rep.DurationNS)
	for _, im := range rep.Images {
		res.Images = append(res.Images, runtime.Image{MIME: im.MIME, Data: im.Data})
	}
	return res, nil
}

// internal serves forwarded calls at forwardPath ahead of next, which serves everything else.
// A call must be signed with the cluster's key, and runs only in a session this replica holds.
func (s *sharedStore) internal(mgr *sessions.Manager, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != forwardPath {
			next.ServeHTTP(w, r)
			return
		}
		reply := func(code int, rep forwardReply) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			json.NewEncoder(w).Encode(rep)
		}
		// Who calls is checked before the body is read (anyone may reach this path): a
		// signature of a recent time, then the body's own.
		refuse := func() { reply(http.StatusForbidden, forwardReply{Error: "not a call from a replica of this cluster"}) }
		stamp := r.Header.Get("X-Wasmbox-Cluster-Time")
		at, err := strconv.ParseInt(stamp, 10, 64)
		if r.Method != http.MethodPost || err != nil || time.Since(time.Unix(at, 0)).Abs() > forwardSkew ||
			!hmac.Equal([]byte(r.Header.Get("X-Wasmbox-Cluster-Auth")), []byte(s.sign([]byte("forward "+stamp)))) {
			refuse()
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxForward))
		if err != nil || !hmac.Equal([]byte(r.Header.Get("X-Wasmbox-Cluster")), []byte(s.sign(body))) {
			refuse()
			return
		}
		var call forwardCall
		if err := json.Unmarshal(body, &call); err != nil {
			reply(http.StatusBadRequest, forwardReply{Error: err.Error()})
			return
		}
		res, err := mgr.RunHeld(r.Context(), call.Session, call.Request, call.Deadline)
		switch {
		case errors.Is(err, sessions.ErrNotHolder):
			reply(http.StatusConflict, forwardReply{Error: err.Error()})
			return
		case errors.Is(err, sessions.ErrNotFound), errors.Is(err, sessions.ErrExpired), errors.Is(err, sessions.ErrEvicted):
			reply(http.StatusNotFound, forwardReply{Error: err.Error()})
			return
		case errors.Is(err, sessions.ErrBusy):
			reply(http.StatusServiceUnavailable, forwardReply{Error: err.Error()})
			return
		case err != nil:
			reply(http.StatusInternalServerError, forwardReply{Error: err.Error()})
			return
		}
		rep := forwardReply{Result: res, DurationNS: int64(res.Duration)}
		for _, im := range append(res.Images, mgr.RunImages(call.Session, res)...) {
			rep.Images = append(rep.Images, forwardImage{MIME: im.MIME, Data: im.Data})
		}
		reply(http.StatusOK, rep)
	})
}
