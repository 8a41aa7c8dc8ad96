package contracts

// DisguisingCharacter returns the first character in s that can disguise
// text that other people read, and reports whether there is one: the Unicode
// bidirectional embeddings, overrides and isolates, U+202A to U+202E (LRE, RLE,
// PDF, LRO, RLO) and U+2066 to U+2069 (LRI, RLI, FSI, PDI). They are invisible,
// and they reorder everything after them up to the end of the paragraph or a
// closing PDF/PDI: an RLO makes "Kafé \u202Eamoc.evil" show as "Kafé
// live.coma", a name can end in an override that turns the words after it on
// the page around, and an unclosed embedding leaks into the text that follows
// wherever the string is shown (CVE-2021-42574, "Trojan Source").
//
// The marks U+200E (LRM), U+200F (RLM) and U+061C (ALM) are allowed: each is a
// single invisible letter of a direction, which changes only how neutral
// characters next to it (spaces, punctuation, digits) are placed, and nothing
// beyond the next strong letter. It can do no more than a visible Hebrew or
// Arabic letter in the same place, which the text is free to hold, and names
// and messages in right-to-left scripts need the marks to place their
// punctuation.
//
// Every system refuses such a character where it accepts text that other
// people see (names, merchants, messages, reasons), naming the character, so
// that the text is refused at its source rather than shown disguised.
func DisguisingCharacter(s string) (r rune, found bool) {
	for _, r := range s {
		if (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return r, true
		}
	}
	return 0, false
}
