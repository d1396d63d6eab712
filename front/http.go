package front

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// bodyDeadline gives a request's body BodyTimeout to arrive, on every route (ReadHeaderTimeout
// covers the headers). Once the body is read the deadline is lifted, so a long run or a
// stream is not cut; a body never sent, also one its handler never reads, ends the connection.
func (f *Front) bodyDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 && len(r.TransferEncoding) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(f.cfg.BodyTimeout)) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { rc.SetReadDeadline(time.Time{}) }}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when its body has been read to the end.
type deadlineBody struct {
	io.ReadCloser
	lift func()
	once sync.Once
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.once.Do(b.lift)
	}
	return n, err
}

// SecurityHeaders keeps the playground to its own origin: no external scripts, styles or
// connections, framing only by Config.FrameAncestors.
func (f *Front) SecurityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors "+f.cfg.FrameAncestors+"; base-uri 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

// WriteJSON writes v as a JSON response with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Guard wraps a route's handler in the checks of [Front.Auth], the rate limit and the cap on
// request bodies (the code cap plus room for an envelope).
func (f *Front) Guard(h http.Handler) http.Handler { return f.Auth(f.rateLimit(f.capBody(h))) }

// GuardUpload is [Front.Guard] without the body cap, for routes that take files and cap them
// themselves.
func (f *Front) GuardUpload(h http.Handler) http.Handler { return f.Auth(f.rateLimit(h)) }

// Auth identifies the caller and puts it in the request's context ([CallerFrom]). When the
// server has API keys, it requires one, as `Authorization: Bearer <key>` or `X-API-Key: <key>`.
func (f *Front) Auth(next http.Handler) http.Handler {
	return f.auth(next)
}

func hashKeys(keys []string) [][32]byte {
	hashes := make([][32]byte, len(keys))
	for i, k := range keys {
		hashes[i] = sha256.Sum256([]byte(k))
	}
	return hashes
}

func (f *Front) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := f.caller(r)
		if len(f.keyHashes) == 0 || c.Key != "" || c.Subject != "" {
			next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
			return
		}
		// Guessing is bounded per client address before any key is compared.
		refund, ok := f.authFailures.reserve(guessKey(c.Addr))
		if !ok {
			f.Reject("auth_rate_limited")
			TooMany(w, 60, "too many requests with a wrong API key from your address; retry in a minute")
			return
		}
		key := r.Header.Get("X-API-Key")
		if h := r.Header.Get("Authorization"); key == "" && len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			key = strings.TrimSpace(h[7:])
		}
		if key == "" || !f.keyMatches(key) {
			f.Reject("unauthorized")
			w.Header().Set("WWW-Authenticate", `Bearer realm="wasmbox"`)
			WriteJSON(w, http.StatusUnauthorized, map[string]string{
				"error": "missing or invalid API key: send `Authorization: Bearer <key>` or `X-API-Key: <key>`"})
			return
		}
		refund() // only failures spend the address's budget
		c.Key = key
		next.ServeHTTP(w, r.WithContext(WithCaller(r.Context(), c)))
	})
}

// keyMatches compares key's digest in constant time against every key's, so timing reveals
// nothing.
func (f *Front) keyMatches(key string) bool {
	got := sha256.Sum256([]byte(key))
	match := 0
	for _, h := range f.keyHashes {
		match |= subtle.ConstantTimeCompare(got[:], h[:])
	}
	return match == 1
}

// AuthFailure counts a failed authentication that a front checked itself (a bad token)
// against the caller's address, and reports whether the address is still within
// [AuthFailuresPerMinute]. Call it before checking, and call the returned refund on success.
func (f *Front) AuthFailure(r *http.Request) (refund func(), ok bool) {
	return f.authFailures.reserve(guessKey(f.ClientIP(r)))
}

// guessKey is what failed keys are counted by: the client's address, or its /64 for IPv6,
// where one host holds a whole prefix.
func guessKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || addr.Is4() {
		return ip
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

// rateLimit allows RatePerMinute requests per key, or per client IP without keys.
func (f *Front) rateLimit(next http.Handler) http.Handler {
	if f.limiter == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.allow(r.Context(), f.caller(r).RateKey()) {
			f.Reject("rate_limited")
			TooMany(w, (59+f.cfg.RatePerMinute)/f.cfg.RatePerMinute, "rate limit exceeded: at most "+itoa(f.cfg.RatePerMinute)+" requests per minute; retry later")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// sharedRateWait bounds what a request waits for the shared rate limit before this replica's
// own limiter decides instead.
const sharedRateWait = 250 * time.Millisecond

// allow says whether key's request is within the rate limit: the one every replica shares
// when there is one and it answers, else this replica's.
func (f *Front) allow(ctx context.Context, key string) bool {
	if f.cfg.SharedRates == nil {
		return f.limiter.allow(key)
	}
	sum := sha256.Sum256([]byte("wasmbox-rate:" + key)) // API keys never leave the process
	ctx, cancel := context.WithTimeout(ctx, sharedRateWait)
	ok, err := f.cfg.SharedRates.Take(ctx, hex.EncodeToString(sum[:16]), f.cfg.RatePerMinute)
	cancel()
	if err == nil {
		return ok
	}
	if f.rateWarned.CompareAndSwap(false, true) {
		f.cfg.Logger.Warn("shared rate limit unavailable; limiting on this replica alone until it answers", "err", err)
		time.AfterFunc(time.Minute, func() { f.rateWarned.Store(false) })
	}
	return f.limiter.allow(key)
}

// TooMany answers 429 with the wait in the Retry-After header and in the body, in the shape
// LibreChat's client reads it ({"error": "rate_limited", "retry_after_seconds": N}).
func TooMany(w http.ResponseWriter, seconds int, message string) {
	w.Header().Set("Retry-After", itoa(seconds))
	WriteJSON(w, http.StatusTooManyRequests, map[string]any{"error": "rate_limited", "retry_after_seconds": seconds, "message": message})
}

// capBody limits request bodies to the code cap plus room for the JSON-RPC envelope, and the
// bytes of such bodies held at once ([MaxBodyBytesInFlight], [MaxBodyBytesPerClient]): a body
// is held whole while decoded and while its code runs, so without this a thousand clients'
// connections could hold a gibibyte. A body without a length counts as the cap.
func (f *Front) capBody(next http.Handler) http.Handler {
	max := int64(f.cfg.MaxCodeBytes) + 64<<10
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			f.Reject("too_large")
			WriteJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "request body over " + itoa(int(max)) + " bytes"})
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			n := r.ContentLength
			if n < 0 {
				n = max
			}
			release, status := f.bodies.reserve(f.ClientKey(r), n)
			switch status {
			case http.StatusTooManyRequests:
				f.Reject("bodies_per_client")
				TooMany(w, 5, "your requests in progress hold their most bytes of request bodies; retry when some are done")
				return
			case http.StatusServiceUnavailable:
				f.Reject("bodies")
				w.Header().Set("Retry-After", "5")
				WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "the server holds its most bytes of request bodies; retry in a few seconds"})
				return
			}
			defer release()
			r.Body = http.MaxBytesReader(w, r.Body, max)
		}
		next.ServeHTTP(w, r)
	})
}

// Bounds of the request bodies [Front.Guard]'s routes hold at once (code and JSON-RPC
// messages of up to MaxCodeBytes plus 64 KiB each), in total and per client address.
const (
	MaxBodyBytesInFlight  = 64 << 20
	MaxBodyBytesPerClient = 16 << 20
)

// bodyBudget counts the bytes of request bodies held, in total and per client. It is safe for
// concurrent use.
type bodyBudget struct {
	mu       sync.Mutex
	max, per int64
	used     int64
	byClient map[string]int64
}

func newBodyBudget(max, per int64) *bodyBudget {
	return &bodyBudget{max: max, per: per, byClient: map[string]int64{}}
}

// reserve takes n bytes for client, or returns the status to refuse with (429: the client's
// share is taken; 503: the server's).
func (b *bodyBudget) reserve(client string, n int64) (release func(), status int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.byClient[client]+n > b.per:
		return nil, http.StatusTooManyRequests
	case b.used+n > b.max:
		return nil, http.StatusServiceUnavailable
	}
	b.used += n
	b.byClient[client] += n
	var once sync.Once
	return func() {
		once.Do(func() {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.used -= n
			if b.byClient[client] -= n; b.byClient[client] <= 0 {
				delete(b.byClient, client)
			}
		})
	}, 0
}

func itoa(n int) string { return strconv.Itoa(n) }

// maxBuckets is how many callers the rate limiter remembers before it forgets those idle for a
// minute (rather than ten), sweeping at most once a second.
const maxBuckets = 100_000

// limiter holds one token bucket per caller and forgets callers idle for ten minutes (one
// minute when it holds maxBuckets).
type limiter struct {
	mu      sync.Mutex
	perMin  int
	buckets map[string]*bucket
	sweep   time.Time
	now     func() time.Time
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

func newLimiter(perMinute int) *limiter {
	return &limiter{perMin: perMinute, buckets: map[string]*bucket{}, sweep: time.Now(), now: time.Now}
}

func (l *limiter) allow(who string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// Full, it sweeps at most once a second, so a flood of new callers costs no sweep each.
	if full := len(l.buckets) >= maxBuckets; full && now.Sub(l.sweep) > time.Second || now.Sub(l.sweep) > time.Minute {
		idle := 10 * time.Minute
		if full {
			idle = time.Minute
		}
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idle {
				delete(l.buckets, k)
			}
		}
		l.sweep = now
	}
	b := l.buckets[who]
	if b == nil {
		b = &bucket{l: rate.NewLimiter(rate.Every(time.Minute/time.Duration(l.perMin)), l.perMin)}
		l.buckets[who] = b
	}
	b.seen = now
	return b.l.AllowN(now, 1)
}

// failures counts failed authentications per client in windows of a minute. reserve counts
// a request before its key is compared, so parallel requests cannot all pass one check;
// the returned refund uncounts it when the key was right. It is safe for concurrent use.
type failures struct {
	mu  sync.Mutex
	max int
	m   map[string]*failWindow
}

type failWindow struct {
	start time.Time
	n     int
}

func newFailures(perMinute int) *failures {
	return &failures{max: perMinute, m: map[string]*failWindow{}}
}

func (f *failures) reserve(who string) (refund func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	w := f.m[who]
	if w == nil || now.Sub(w.start) > time.Minute {
		if len(f.m) > 100_000 {
			f.m = map[string]*failWindow{} // forget everyone rather than grow without bound
		}
		w = &failWindow{start: now}
		f.m[who] = w
	}
	if w.n >= f.max {
		return nil, false
	}
	w.n++
	return func() {
		f.mu.Lock()
		w.n--
		f.mu.Unlock()
	}, true
}
