package signing

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
)

// KeyEncryptionKeySize is the size of KEY_ENCRYPTION_KEY: AES-256.
const KeyEncryptionKeySize = 32

// Sealer encrypts the private signing keys at rest with AES-256-GCM under the
// key-encryption key, so that a copy of the database (a backup, a replica) alone
// cannot mint session tokens.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for the 32-byte key-encryption key kek.
func NewSealer(kek []byte) (*Sealer, error) {
	if len(kek) != KeyEncryptionKeySize {
		return nil, fmt.Errorf("signing: the key-encryption key has %d bytes, want %d", len(kek), KeyEncryptionKeySize)
	}
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns the private key's seed, encrypted and bound to kid (as the
// additional data, so that a sealed key copied to another kid's row does not
// open), as base64: nonce, then ciphertext and tag.
func (s *Sealer) Seal(kid string, key ed25519.PrivateKey) (string, error) {
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("signing: nonce: %w", err)
	}
	sealed := s.aead.Seal(nonce, nonce, key.Seed(), []byte(kid))
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// ErrCannotOpen is a sealed key that does not open: another key-encryption
// key, another kid, or a damaged row.
var ErrCannotOpen = errors.New("signing: the private key does not open with KEY_ENCRYPTION_KEY")

// Open decrypts a key Seal sealed for kid.
func (s *Sealer) Open(kid, sealed string) (ed25519.PrivateKey, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(b) < s.aead.NonceSize() {
		return nil, fmt.Errorf("%w: %s is damaged", ErrCannotOpen, kid)
	}
	n := s.aead.NonceSize()
	seed, err := s.aead.Open(nil, b[:n], b[n:], []byte(kid))
	if err != nil || len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("%w (key %s)", ErrCannotOpen, kid)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
