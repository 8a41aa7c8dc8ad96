package contracts

// DecodeData decodes data as the payload of eventType without an envelope, so
// that the tests can reach the payload decoder alone.
func DecodeData(eventType string, data []byte) (Payload, error) {
	info, ok := Lookup(eventType)
	if !ok {
		return nil, ErrUnknownType
	}
	return info.decodeData(data)
}
