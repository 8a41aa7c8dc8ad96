package web

import (
	"net/url"
	"path"
	"strings"
)

// safeNext returns where to go after a login: next when it is a path of this
// origin under one of the platform's systems, else the account page.
//
// A full URL, a protocol-relative "//host", "/\host" (which browsers read as
// "//host"), or a control character would send the user, freshly logged in, to
// another site: an open redirect. Dot segments, encoded or not, are refused
// too, so that what is checked is what the browser will request.
func safeNext(next string) string {
	const fallback = "/users/account"
	if next == "" || len(next) > 2048 || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return fallback
	}
	if strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return fallback
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return fallback
	}
	p := u.Path
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) || strings.HasPrefix(p, "//") {
		return fallback
	}
	clean := path.Clean(p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	if clean != p {
		return fallback
	}
	switch {
	case strings.HasPrefix(p, "/users/login"), strings.HasPrefix(p, "/users/logout"), strings.HasPrefix(p, "/users/internal/"):
		return fallback
	case strings.HasPrefix(p, "/users/"), strings.HasPrefix(p, "/chat/"), strings.HasPrefix(p, "/cards/"), p == "/chat", p == "/cards":
		return u.String()
	}
	return fallback
}

// loginURL is the login page that comes back to next afterwards.
func loginURL(next string) string {
	if next == "" || next == "/users/account" {
		return "/users/login"
	}
	return "/users/login?next=" + url.QueryEscape(next)
}
