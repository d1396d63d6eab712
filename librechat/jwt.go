package librechat

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"time"

	"wasmbox/front"
)

// LibreChat's JWT mode (CODEAPI_AUTH_PROVIDER=librechat-jwt): for each request to the code
// API, LibreChat signs a short-lived token with its private key (EdDSA by default, or RS256)
// and sends it as `Authorization: Bearer <jwt>`, with a kid header and the claims iss
// (CODEAPI_JWT_ISSUER, default "librechat"), aud (CODEAPI_JWT_AUDIENCE, default "codeapi"),
// sub (the LibreChat user), tenant_id, iat, nbf, exp (at most 300 s after iat) and jti.
// wasmbox holds the public keys and checks every one of these; the caller is then
// (issuer, tenant, user), so each LibreChat user owns their own sessions and files.

// Token defaults, the same as LibreChat's.
const (
	DefaultIssuer   = "librechat"
	DefaultAudience = "codeapi"
	// DefaultKeyID is the kid LibreChat signs with when CODEAPI_JWT_KID is not set.
	DefaultKeyID = "lc-codeapi-2026-05"
	// MaxTokenTTL is the longest lifetime (exp - iat) a token may claim.
	MaxTokenTTL = 300 * time.Second
	maxTokenLen = 8 << 10
)

// ErrToken is a token that does not verify; the message says why.
var ErrToken = errors.New("librechat: invalid token")

// VerifierConfig configures a [Verifier].
type VerifierConfig struct {
	// Keys are the public keys by kid: ed25519.PublicKey or *rsa.PublicKey.
	Keys map[string]crypto.PublicKey
	// Issuer and Audience are the iss and aud tokens must carry (defaults DefaultIssuer and
	// DefaultAudience).
	Issuer, Audience string
	// Algorithms are the accepted alg values, of EdDSA and RS256 (default both).
	Algorithms []string
	// ClockSkew is the leeway on iat, nbf and exp (default 30 s, at most 30 s).
	ClockSkew time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Verifier checks LibreChat's signed tokens. It is immutable and safe for concurrent use.
type Verifier struct {
	cfg VerifierConfig
}

// NewVerifier validates cfg.
func NewVerifier(cfg VerifierConfig) (*Verifier, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("librechat: token verifier: no public keys")
	}
	for kid, k := range cfg.Keys {
		switch k := k.(type) {
		case ed25519.PublicKey:
		case *rsa.PublicKey:
			if k.N.BitLen() < 2048 {
				return nil, fmt.Errorf("librechat: key %q: RSA keys must have at least 2048 bits, this one has %d", kid, k.N.BitLen())
			}
		default:
			return nil, fmt.Errorf("librechat: key %q: %T is not an Ed25519 or RSA public key", kid, k)
		}
	}
	if cfg.Issuer == "" {
		cfg.Issuer = DefaultIssuer
	}
	if cfg.Audience == "" {
		cfg.Audience = DefaultAudience
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"EdDSA", "RS256"}
	}
	for _, a := range cfg.Algorithms {
		if a != "EdDSA" && a != "RS256" {
			return nil, fmt.Errorf("librechat: token algorithm %q: want EdDSA or RS256", a)
		}
	}
	if cfg.ClockSkew == 0 || cfg.ClockSkew > 30*time.Second {
		cfg.ClockSkew = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Verifier{cfg: cfg}, nil
}

// Claims are what wasmbox reads of a verified token.
type Claims struct {
	Issuer  string
	Subject string
	Tenant  string
}

type tokenHeader struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

type tokenClaims struct {
	Iss    string          `json:"iss"`
	Aud    json.RawMessage `json:"aud"`
	Sub    string          `json:"sub"`
	Tenant string          `json:"tenant_id"`
	Iat    *float64        `json:"iat"`
	Nbf    *float64        `json:"nbf"`
	Exp    *float64        `json:"exp"`
}

// Verify checks token's signature and claims and returns its claims.
func (v *Verifier) Verify(token string) (Claims, error) {
	if len(token) > maxTokenLen {
		return Claims{}, fmt.Errorf("%w: over %d bytes", ErrToken, maxTokenLen)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return Claims{}, fmt.Errorf("%w: not a JWS compact token", ErrToken)
	}
	var h tokenHeader
	if err := decodeSegment(parts[0], &h); err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrToken, err)
	}
	if h.Typ != "" && !strings.EqualFold(h.Typ, "JWT") {
		return Claims{}, fmt.Errorf("%w: typ %q", ErrToken, h.Typ)
	}
	if !slices.Contains(v.cfg.Algorithms, h.Alg) {
		return Claims{}, fmt.Errorf("%w: algorithm %q is not accepted", ErrToken, h.Alg)
	}
	key, ok := v.cfg.Keys[h.Kid]
	if !ok {
		return Claims{}, fmt.Errorf("%w: unknown key id %q", ErrToken, h.Kid)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return Claims{}, fmt.Errorf("%w: signature encoding", ErrToken)
	}
	signed := []byte(parts[0] + "." + parts[1])
	switch k := key.(type) {
	case ed25519.PublicKey:
		if h.Alg != "EdDSA" || !ed25519.Verify(k, signed, sig) {
			return Claims{}, fmt.Errorf("%w: bad signature", ErrToken)
		}
	case *rsa.PublicKey:
		sum := sha256.Sum256(signed)
		if h.Alg != "RS256" || rsa.VerifyPKCS1v15(k, crypto.SHA256, sum[:], sig) != nil {
			return Claims{}, fmt.Errorf("%w: bad signature", ErrToken)
		}
	}
	var c tokenClaims
	if err := decodeSegment(parts[1], &c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrToken, err)
	}
	if c.Iss != v.cfg.Issuer {
		return Claims{}, fmt.Errorf("%w: issuer %q, want %q", ErrToken, c.Iss, v.cfg.Issuer)
	}
	if !audienceHas(c.Aud, v.cfg.Audience) {
		return Claims{}, fmt.Errorf("%w: audience does not include %q", ErrToken, v.cfg.Audience)
	}
	if c.Sub == "" || len(c.Sub) > 256 {
		return Claims{}, fmt.Errorf("%w: no subject", ErrToken)
	}
	if c.Iat == nil || c.Exp == nil {
		return Claims{}, fmt.Errorf("%w: iat and exp are required", ErrToken)
	}
	now := float64(v.cfg.Now().Unix())
	skew := v.cfg.ClockSkew.Seconds()
	switch {
	case now > *c.Exp+skew:
		return Claims{}, fmt.Errorf("%w: expired", ErrToken)
	case *c.Iat > now+skew, c.Nbf != nil && *c.Nbf > now+skew:
		return Claims{}, fmt.Errorf("%w: not valid yet", ErrToken)
	case *c.Exp-*c.Iat > MaxTokenTTL.Seconds():
		return Claims{}, fmt.Errorf("%w: lifetime over %s", ErrToken, MaxTokenTTL)
	}
	tenant := c.Tenant
	if tenant == "" {
		tenant = "legacy" // LibreChat's single-tenant id
	}
	return Claims{Issuer: c.Iss, Subject: c.Sub, Tenant: tenant}, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(b, v)
}

func audienceHas(raw json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(raw, &many) == nil && slices.Contains(many, want)
}

// token lets requests carrying a LibreChat token in: a verified one makes the caller
// (issuer, tenant, user); a bad one is refused and counted like a wrong API key. Without a
// token, the front's API keys apply; a server with a verifier and no keys refuses it.
func (s *API) token(next http.Handler) http.Handler {
	if s.jwt == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		tok := ""
		if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
			tok = strings.TrimSpace(auth[7:])
		}
		if strings.Count(tok, ".") != 2 {
			if len(s.front.Config().APIKeys) > 0 {
				next.ServeHTTP(w, r) // an API key, checked by the front
				return
			}
			s.front.Reject("unauthorized")
			w.Header().Set("WWW-Authenticate", `Bearer realm="wasmbox"`)
			front.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": "this server takes LibreChat's signed token (CODEAPI_AUTH_PROVIDER=librechat-jwt): send `Authorization: Bearer <jwt>`"})
			return
		}
		refund, ok := s.front.AuthFailure(r)
		if !ok {
			s.front.Reject("auth_rate_limited")
			front.TooMany(w, 60, "too many requests with a bad token from your address; retry in a minute")
			return
		}
		claims, err := s.jwt.Verify(tok)
		if err != nil && len(s.front.Config().APIKeys) > 0 {
			// An API key may have the shape of a token: the front checks it as a key (and
			// counts it if it is not one).
			refund()
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			s.front.Reject("unauthorized")
			w.Header().Set("WWW-Authenticate", `Bearer realm="wasmbox", error="invalid_token"`)
			front.WriteJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		}
		refund()
		c := front.Caller{Subject: claims.Issuer + "/" + claims.Tenant + "/" + claims.Subject, Addr: s.front.ClientIP(r)}
		next.ServeHTTP(w, r.WithContext(front.WithCaller(r.Context(), c)))
	})
}

// ParsePublicKey reads a public key from PEM (SubjectPublicKeyInfo, or PKCS #1 for RSA) or
// from a JWK (kty OKP with crv Ed25519, or kty RSA).
func ParsePublicKey(s string) (crypto.PublicKey, error) {
	s = strings.TrimSpace(strings.ReplaceAll(s, `\n`, "\n"))
	if strings.HasPrefix(s, "{") {
		var j jwk
		if err := json.Unmarshal([]byte(s), &j); err != nil {
			return nil, fmt.Errorf("librechat: JWK: %w", err)
		}
		return j.key()
	}
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("librechat: public key: neither PEM nor JWK")
	}
	if block.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("librechat: public key: %w", err)
	}
	return k, nil
}

// ParseJWKS reads a JSON Web Key Set ({"keys": [...]}, each with a kid) into keys by kid.
func ParseJWKS(s string) (map[string]crypto.PublicKey, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal([]byte(s), &set); err != nil {
		return nil, fmt.Errorf("librechat: JWKS: %w", err)
	}
	keys := map[string]crypto.PublicKey{}
	for i, j := range set.Keys {
		if j.Kid == "" {
			return nil, fmt.Errorf("librechat: JWKS key %d has no kid", i+1)
		}
		k, err := j.key()
		if err != nil {
			return nil, fmt.Errorf("librechat: JWKS key %q: %w", j.Kid, err)
		}
		keys[j.Kid] = k
	}
	return keys, nil
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	X   string `json:"x"`
	N   string `json:"n"`
	E   string `json:"e"`
}

func (j jwk) key() (crypto.PublicKey, error) {
	switch {
	case j.Kty == "OKP" && j.Crv == "Ed25519":
		x, err := base64.RawURLEncoding.DecodeString(j.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad Ed25519 x")
		}
		return ed25519.PublicKey(x), nil
	case j.Kty == "RSA":
		n, err1 := base64.RawURLEncoding.DecodeString(j.N)
		e, err2 := base64.RawURLEncoding.DecodeString(j.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA n or e")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}, nil
	}
	return nil, fmt.Errorf("key type %q/%q: want OKP/Ed25519 or RSA", j.Kty, j.Crv)
}
