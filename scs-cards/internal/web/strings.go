package web

import "strings"

func joinSpace(s []string) string { return strings.Join(s, " ") }
