package web

import "strings"

func joinSpace(s []string) string { return strings.Join(s, " ") }

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
