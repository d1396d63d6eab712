package front

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
)

// Caller is who sent a request, as every front identifies it. [Front.Guard] puts it in the
// request's context; [CallerFrom] reads it back.
type Caller struct {
	// Key is the API key presented, when the server has keys.
	Key string
	// Subject is a verified token's subject, for callers that present a signed token instead
	// of a key (LibreChat's code API); it is already scoped by its issuer.
	Subject string
	// Conn is the MCP connection, for keyless MCP calls (set by package mcp).
	Conn string
	// Addr is the client's address (through trusted proxies only).
	Addr string
}

// Owner is the identity sessions are created and listed under: the key, else the token's
// subject, else the MCP connection, else the client's address. Keys are stored as a hash, so a
// session listing or a log line never shows one.
func (c Caller) Owner() string {
	switch {
	case c.Key != "":
		sum := sha256.Sum256([]byte(c.Key))
		return "key:" + hex.EncodeToString(sum[:8])
	case c.Subject != "":
		return "token:" + c.Subject
	case c.Conn != "":
		return "conn:" + c.Conn
	default:
		return "ip:" + c.Addr
	}
}

// RateKey is what the rate limit counts by: the key or token subject, else the address (for
// IPv6 its /64, where one host holds a whole prefix and could otherwise rotate past the limit).
func (c Caller) RateKey() string {
	switch {
	case c.Key != "":
		return "key:" + c.Key
	case c.Subject != "":
		return "token:" + c.Subject
	default:
		return "ip:" + guessKey(c.Addr)
	}
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries (the zero Caller when none).
func CallerFrom(ctx context.Context) Caller {
	c, _ := ctx.Value(callerKey{}).(Caller)
	return c
}

// caller returns r's caller: the one already identified, or one made from its address.
func (f *Front) caller(r *http.Request) Caller {
	if c, ok := r.Context().Value(callerKey{}).(Caller); ok {
		return c
	}
	return Caller{Addr: f.ClientIP(r)}
}
