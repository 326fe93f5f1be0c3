package hookd

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// sealedPrefix marks a sealed value, so stores can hold plain and sealed
// secrets side by side (a key set on an existing database seals secrets as
// they are next written, and still reads the plain ones).
const sealedPrefix = "enc:v1:"

// SecretBox encrypts webhook secrets at rest with AES-256-GCM. A nil
// *SecretBox stores secrets as they are.
type SecretBox struct {
	aead cipher.AEAD
}

// NewSecretBox derives an AES-256 key from key (HOOKD_ENCRYPTION_KEY: any
// string of at least 16 characters; 32 random bytes in base64 are best).
func NewSecretBox(key string) (*SecretBox, error) {
	if len(key) < 16 {
		return nil, fmt.Errorf("encryption key: need at least 16 characters, got %d", len(key))
	}
	k := sha256.Sum256([]byte(key))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return &SecretBox{aead: aead}, nil
}

// Seal returns plain encrypted, or plain itself when b is nil or plain is "".
func (b *SecretBox) Seal(plain string) string {
	if b == nil || plain == "" {
		return plain
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plain)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err)
	}
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, []byte(plain), nil))
}

// Open reverses Seal. A value that was never sealed is returned as is. A
// sealed value without a box, or under another key, is an error.
func (b *SecretBox) Open(stored string) (string, error) {
	if !strings.HasPrefix(stored, sealedPrefix) {
		return stored, nil
	}
	if b == nil {
		return "", fmt.Errorf("open secret: it is encrypted and no HOOKD_ENCRYPTION_KEY is set")
	}
	raw, err := base64.RawStdEncoding.DecodeString(stored[len(sealedPrefix):])
	if err != nil || len(raw) < b.aead.NonceSize() {
		return "", fmt.Errorf("open secret: malformed")
	}
	n := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:n], raw[n:], nil)
	if err != nil {
		return "", fmt.Errorf("open secret: wrong HOOKD_ENCRYPTION_KEY or corrupted value")
	}
	return string(plain), nil
}
