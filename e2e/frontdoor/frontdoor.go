// Package frontdoor is the development front door: one origin for the browser
// in front of the three systems, as the real reverse proxy in compose is. It
// serves "make run" (cmd/devrun) and the cross-system tests.
package frontdoor

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
)

// New routes /users/..., /chat/... and /cards/... to the systems without
// rewriting paths, and redirects / to the start page. A system with several
// instances gets the requests in turn (a websocket stays on the instance it was
// opened on). Everything else, including the systems' /healthz, /readyz and
// /metrics and scs-users' internal feed, is not found. The browser's Host is
// passed on, so that a system sees the origin the browser used (cross-origin
// protection compares them).
func New(backends map[string][]*url.URL) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/{$}", http.RedirectHandler("/users/", http.StatusFound))
	for name, targets := range backends {
		var next atomic.Uint64
		proxy := &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) {
				pr.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
				pr.Out.Host = pr.In.Host
				pr.SetXForwarded()
			},
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
				http.Error(w, "scs-"+name+" is not answering. Is it still starting?", http.StatusBadGateway)
			},
		}
		mux.Handle("/"+name, proxy)
		mux.Handle("/"+name+"/", proxy)
	}
	mux.Handle("/users/internal/", http.NotFoundHandler())
	return mux
}
