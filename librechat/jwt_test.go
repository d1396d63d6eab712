package librechat

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"wasmbox/front"
	"wasmbox/internal/fronttest"
)

// sign makes a token as LibreChat's JWT mode does (packages/api/src/auth/codeapi.ts).
func sign(t *testing.T, key crypto.Signer, alg, kid string, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	head := enc(map[string]string{"alg": alg, "typ": "JWT", "kid": kid}) + "." + enc(claims)
	var sig []byte
	var err error
	switch alg {
	case "EdDSA":
		sig, err = key.Sign(rand.Reader, []byte(head), crypto.Hash(0))
	default:
		sum := sha256.Sum256([]byte(head))
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	}
	if err != nil {
		t.Fatal(err)
	}
	return head + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func libreClaims(now time.Time, sub string) map[string]any {
	return map[string]any{"iss": "librechat", "aud": "codeapi", "sub": sub, "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "jti": "j-" + sub, "tenant_id": "legacy", "role": "USER",
		"principal_source": "librechat_jwt", "auth_context_hash": "00"}
}

func TestVerifier(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(VerifierConfig{Keys: map[string]crypto.PublicKey{"ed": edPub, "rs": &rsaKey.PublicKey},
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	with := func(mod func(map[string]any)) map[string]any {
		c := libreClaims(now, "user-1")
		mod(c)
		return c
	}
	good := sign(t, edKey, "EdDSA", "ed", libreClaims(now, "user-1"))
	parts := strings.Split(good, ".")
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"librechat","aud":"codeapi","sub":"admin","iat":1800000000,"exp":1800000300}`)) + "." + parts[2]
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"ed"}`)) + "." + parts[1] + "."
	hs := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"ed"}`)) + "." + parts[1] + "." + parts[2]
	cases := []struct {
		name, token, wantErr string
	}{
		{"EdDSA", good, ""},
		{"RS256", sign(t, rsaKey, "RS256", "rs", libreClaims(now, "user-1")), ""},
		{"audience list", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { c["aud"] = []string{"x", "codeapi"} })), ""},
		{"within skew", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) {
			c["exp"] = now.Add(-20 * time.Second).Unix()
			c["iat"] = now.Add(-time.Minute).Unix()
		})), ""},
		{"wrong key", sign(t, otherKey, "EdDSA", "ed", libreClaims(now, "user-1")), "bad signature"},
		{"unknown kid", sign(t, edKey, "EdDSA", "nope", libreClaims(now, "user-1")), "unknown key id"},
		{"alg of another key", sign(t, rsaKey, "RS256", "ed", libreClaims(now, "user-1")), "bad signature"},
		{"tampered claims", tampered, "bad signature"},
		{"alg none", none, "not accepted"},
		{"HS256 with the public key", hs, "not accepted"},
		{"expired", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) {
			c["exp"] = now.Add(-time.Minute).Unix()
			c["iat"] = now.Add(-2 * time.Minute).Unix()
		})), "expired"},
		{"not yet", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() })), "not valid yet"},
		{"too long", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { c["exp"] = now.Add(time.Hour).Unix() })), "lifetime"},
		{"no exp", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { delete(c, "exp") })), "required"},
		{"wrong issuer", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { c["iss"] = "evil" })), "issuer"},
		{"wrong audience", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { c["aud"] = "other" })), "audience"},
		{"no subject", sign(t, edKey, "EdDSA", "ed", with(func(c map[string]any) { delete(c, "sub") })), "subject"},
		{"garbage", "a.b.c", "header"},
		{"two parts", "a.b", "compact"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(tc.token)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("got %v, want success", err)
			case tc.wantErr == "" && (c.Subject != "user-1" || c.Tenant != "legacy"):
				t.Errorf("got claims %+v", c)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error with %q", err, tc.wantErr)
			}
		})
	}
}

func TestParsePublicKey(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	jwk := fmt.Sprintf(`{"kty":"OKP","crv":"Ed25519","x":%q}`, base64.RawURLEncoding.EncodeToString(pub))
	for name, in := range map[string]string{"PEM": pemText, "PEM with literal \\n": strings.ReplaceAll(pemText, "\n", `\n`), "JWK": jwk} {
		k, err := ParsePublicKey(in)
		if err != nil || !pub.Equal(k) {
			t.Errorf("%s: got %v, %v", name, k, err)
		}
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	set := fmt.Sprintf(`{"keys":[{"kid":"a","kty":"RSA","n":%q,"e":%q},{"kid":"b","kty":"OKP","crv":"Ed25519","x":%q}]}`,
		base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()), base64.RawURLEncoding.EncodeToString(big.NewInt(int64(rsaKey.E)).Bytes()),
		base64.RawURLEncoding.EncodeToString(pub))
	keys, err := ParseJWKS(set)
	if err != nil || len(keys) != 2 || !rsaKey.PublicKey.Equal(keys["a"]) {
		t.Errorf("JWKS: %v, %v", keys, err)
	}
	if _, err := ParseJWKS(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"AA"}]}`); err == nil {
		t.Error("a JWKS key without kid was accepted")
	}
	if _, err := NewVerifier(VerifierConfig{Keys: map[string]crypto.PublicKey{"k": pub}, Algorithms: []string{"HS256"}}); err == nil {
		t.Error("HS256 was accepted as an algorithm")
	}
}

// TestAPI_token: with a verifier, LibreChat's tokens authenticate the code API, each user
// owns their own sessions, and requests without a valid token are refused and counted.
func TestAPI_token(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	v, err := NewVerifier(VerifierConfig{Keys: map[string]crypto.PublicKey{DefaultKeyID: pub}})
	if err != nil {
		t.Fatal(err)
	}
	fx := fronttest.Serve(t, front.Config{}, func(f *front.Front) []front.Mount {
		return []front.Mount{New(f, v).Mount}
	})
	exec := func(token, code string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest("POST", fx.HTTP.URL+Path+"/exec", strings.NewReader(fmt.Sprintf(`{"lang":"py","code":%q}`, code)))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	alice := sign(t, key, "EdDSA", DefaultKeyID, libreClaims(time.Now(), "alice"))
	code, res := exec(alice, "open('a.txt', 'w').write('alice'); print('ok')")
	if code != 200 || res["stdout"] != "ok\n" {
		t.Fatalf("alice's exec: %d %v", code, res)
	}
	sid, _ := res["session_id"].(string)
	// Bob's token does not open Alice's session.
	bob := sign(t, key, "EdDSA", DefaultKeyID, libreClaims(time.Now(), "bob"))
	req, _ := http.NewRequest("GET", fx.HTTP.URL+Path+"/files/"+sid, nil)
	req.Header.Set("Authorization", "Bearer "+bob)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob listing alice's files: %d, want 404", resp.StatusCode)
	}
	if code, _ := exec("", "print(1)"); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	forged := sign(t, other, "EdDSA", DefaultKeyID, libreClaims(time.Now(), "alice"))
	codes := map[int]int{}
	for range front.AuthFailuresPerMinute + 5 {
		c, _ := exec(forged, "print(1)")
		codes[c]++
	}
	if codes[401] != front.AuthFailuresPerMinute || codes[429] != 5 {
		t.Errorf("forged tokens: %v, want %d refused, then rate limited", codes, front.AuthFailuresPerMinute)
	}
}

// TestAPI_token_withKeys: beside API keys, a token-shaped key still works as a key, and a bad
// token is refused as a wrong key.
func TestAPI_token_withKeys(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	v, err := NewVerifier(VerifierConfig{Keys: map[string]crypto.PublicKey{DefaultKeyID: pub}})
	if err != nil {
		t.Fatal(err)
	}
	fx := fronttest.Serve(t, front.Config{APIKeys: []string{"key.with.dots"}}, func(f *front.Front) []front.Mount {
		return []front.Mount{New(f, v).Mount}
	})
	for token, want := range map[string]int{"key.with.dots": 200, "a.b.c": 401, "": 401} {
		req, _ := http.NewRequest("POST", fx.HTTP.URL+Path+"/exec", strings.NewReader(`{"lang":"py","code":"print(1)"}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Bearer %q: %d, want %d", token, resp.StatusCode, want)
		}
	}
}
