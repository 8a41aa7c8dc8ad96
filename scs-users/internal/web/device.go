package web

import (
	"fmt"
	"strings"
	"time"
)

// describeDevice names the browser and the system of a user agent, as the list
// of sessions shows them ("Firefox on Windows"). Only the common ones are told
// apart: the point is to recognise one's own devices.
func describeDevice(ua string) string {
	browser := firstMatch(ua, []match{
		{"HeadlessChrome/", "Headless Chrome"}, {"Edg/", "Edge"}, {"OPR/", "Opera"}, {"SamsungBrowser/", "Samsung Internet"}, {"Firefox/", "Firefox"},
		{"FxiOS/", "Firefox"}, {"CriOS/", "Chrome"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"},
	})
	system := firstMatch(ua, []match{
		{"iPhone", "iPhone"}, {"iPad", "iPad"}, {"Android", "Android"}, {"CrOS", "ChromeOS"},
		{"Windows", "Windows"}, {"Mac OS X", "macOS"}, {"Macintosh", "macOS"}, {"Linux", "Linux"},
	})
	switch {
	case browser == "" && system == "":
		return "Unknown device"
	case browser == "":
		return "A browser on " + system
	case system == "":
		return browser
	}
	return browser + " on " + system
}

type match struct{ needle, name string }

func firstMatch(s string, ms []match) string {
	for _, m := range ms {
		if strings.Contains(s, m.needle) {
			return m.name
		}
	}
	return ""
}

// ago says how long before now t was, in words.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "a minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d.Minutes()))
	case d < 2*time.Hour:
		return "an hour ago"
	case d < 24*time.Hour:
		return fmt.Sprintf("%d hours ago", int(d.Hours()))
	}
	return "on " + t.UTC().Format("2 Jan 2006")
}
