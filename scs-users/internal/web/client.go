package web

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/scs-platform/scs-users/internal/accounts"
)

// client describes who sent r: the address the rate limits count and the list
// of sessions shows, and the browser.
func (h *handlers) client(r *http.Request) accounts.Client {
	return accounts.Client{IP: clientIP(r, h.trustedProxies), UserAgent: r.UserAgent()}
}

// clientIP is the address of the client that sent r. Behind the front door the
// connection comes from a trusted proxy, which appended the address it saw to
// X-Forwarded-For; the client is the nearest address in that list that is not
// itself a trusted proxy. Addresses further left were written by the client and
// prove nothing, so believing them would let anyone dodge the per-address limits.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	if !isTrusted(peer, trusted) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			// A hop that a proxy of ours would never write: stop believing.
			break
		}
		a = a.Unmap()
		if !isTrusted(a, trusted) {
			return a.String()
		}
		peer = a
	}
	return peer.String()
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
