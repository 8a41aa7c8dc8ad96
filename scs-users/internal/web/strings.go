package web

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
