package front

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// ClientIP is the address of the client that sent r: the connection's peer, or, when that peer
// is a trusted proxy (Config.TrustedProxies), the first address in X-Forwarded-For, read from
// the right, that is not one. A client cannot choose its own address by sending the header: only
// hops that trusted proxies appended are believed.
func (f *Front) ClientIP(r *http.Request) string {
	peer := remoteIP(r.RemoteAddr)
	if !f.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, part := range strings.Split(h, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		ip, err := netip.ParseAddr(strings.Trim(hops[i], "[]"))
		if err != nil {
			break // a malformed hop: stop at the last address a trusted proxy vouched for
		}
		client = ip.Unmap()
		if !f.trusted(client) {
			break
		}
	}
	return client.String()
}

// ClientKey is what per-client caps count r by: [Front.ClientIP], or its /64 for IPv6, where
// one host holds a whole prefix.
func (f *Front) ClientKey(r *http.Request) string { return guessKey(f.ClientIP(r)) }

func remoteIP(addr string) netip.Addr {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.IPv6Unspecified()
	}
	return ip.Unmap()
}

func (f *Front) trusted(ip netip.Addr) bool {
	for _, p := range f.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// LoopbackHosts are the Host names wasmbox serve allows by default when no API key protects it
// or it is bound to loopback: a page that rebinds its own name to 127.0.0.1 is refused.
var LoopbackHosts = []string{"localhost", "127.0.0.1", "::1"}

// hostAllowed reports whether r's Host is one of Config.AllowedHosts (any, when none are set).
func (f *Front) hostAllowed(r *http.Request) bool {
	if len(f.cfg.AllowedHosts) == 0 {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.Trim(host, "[]"))
	for _, a := range f.cfg.AllowedHosts {
		if a == "*" || a == host || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	return false
}

// originAllowed reports whether a state-changing request may come from r's Origin: requests
// without one (programs, curl, MCP clients) may; a browser's must be the server's own origin or
// one of Config.AllowedOrigins. A cross-site page cannot make a visitor's browser run code.
func (f *Front) originAllowed(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	// Proxies often pass Host without the port the browser used ($host in nginx): through a
	// trusted one, the names must match.
	if f.trusted(remoteIP(r.RemoteAddr)) {
		for _, h := range []string{r.Host, r.Header.Get("X-Forwarded-Host")} {
			if h != "" && strings.EqualFold(hostOnly(u.Host), hostOnly(h)) {
				return true
			}
		}
	}
	for _, a := range f.cfg.AllowedOrigins {
		if a == "*" || strings.EqualFold(a, origin) {
			return true
		}
	}
	return false
}

// Prefix is the path under which clients reach the server: X-Forwarded-Prefix from a trusted
// proxy, else Config.BasePath ("" at the root). Links wasmbox sends (the SSE endpoint event)
// start with it; the playground uses relative links.
func (f *Front) Prefix(r *http.Request) string {
	if p := r.Header.Get("X-Forwarded-Prefix"); p != "" && f.trusted(remoteIP(r.RemoteAddr)) {
		if clean, ok := cleanPrefix(p); ok {
			return clean
		}
	}
	return f.cfg.BasePath
}

// cleanPrefix accepts "/a/b" (a slash, then letters, digits and -._~/ without "..") and
// returns it without a trailing slash.
func cleanPrefix(p string) (string, bool) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", true
	}
	if !strings.HasPrefix(p, "/") || strings.Contains(p, "..") || strings.Contains(p, "//") || len(p) > 200 {
		return "", false
	}
	for _, c := range p {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-._~/", c)) {
			return "", false
		}
	}
	return p, true
}

func hostOnly(h string) string {
	if host, _, err := net.SplitHostPort(h); err == nil {
		return host
	}
	return h
}

// Edge applies the checks every route shares: Host, Origin, body deadline. It also strips
// Config.BasePath from paths that carry it, for proxies that pass the prefix on.
func (f *Front) Edge(next http.Handler) http.Handler {
	next = f.bodyDeadline(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bp := f.cfg.BasePath; bp != "" && (r.URL.Path == bp || strings.HasPrefix(r.URL.Path, bp+"/")) {
			r2 := r.Clone(r.Context())
			r2.URL.Path = strings.TrimPrefix(r.URL.Path, bp)
			if r2.URL.Path == "" {
				r2.URL.Path = "/"
			}
			r2.URL.RawPath = ""
			r = r2
		}
		// /healthz answers any Host: container health checks call it by address.
		if !f.hostAllowed(r) && r.URL.Path != PathHealth {
			f.Reject("host")
			WriteJSON(w, http.StatusForbidden, map[string]string{"error": "host " + r.Host + " is not served here; set WASMBOX_ALLOWED_HOSTS to serve it"})
			return
		}
		if !f.originAllowed(r) {
			f.Reject("origin")
			WriteJSON(w, http.StatusForbidden, map[string]string{"error": "requests from the page at " + r.Header.Get("Origin") + " are not allowed; set WASMBOX_ALLOWED_ORIGINS to allow it"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
