// Package keyring keeps vetfield's signing keys: Ed25519 keys identified by a kid, one of them
// current for new signatures, all of them valid for verification, so a key can be rotated without
// invalidating what older keys signed (access tokens, and the QR tokens on printed documents that
// stay in farmers' hands for years).
//
// On disk a keyring is a directory: one PKCS#8 PEM file per key, named "<kid>.pem", and a file
// "current" holding the kid that signs. Every process of a deployment must read the same keys.
package keyring

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Key is one Ed25519 key pair.
type Key struct {
	ID      string
	Private ed25519.PrivateKey
	Public  ed25519.PublicKey
}

// Ring is a set of keys with one current. It is safe for concurrent use.
type Ring struct {
	mu      sync.RWMutex
	keys    map[string]*Key
	current string
}

// KeyIDBytes is the length of a kid before base64url: 6 bytes, 8 characters.
const KeyIDBytes = 6

// KeyID derives the kid of a public key: the first 6 bytes of its SHA-256, base64url — short
// enough to fit the QR payload, long enough never to collide within one deployment.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:KeyIDBytes])
}

// Generate returns a new random key.
func Generate() (*Key, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keyring: generate: %w", err)
	}
	return &Key{ID: KeyID(pub), Private: priv, Public: pub}, nil
}

// New returns a ring holding keys, the first one current.
func New(keys ...*Key) *Ring {
	r := &Ring{keys: map[string]*Key{}}
	for i, k := range keys {
		r.keys[k.ID] = k
		if i == 0 {
			r.current = k.ID
		}
	}
	return r
}

// Add puts a key in the ring without making it current.
func (r *Ring) Add(k *Key) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keys[k.ID] = k
	if r.current == "" {
		r.current = k.ID
	}
}

// SetCurrent makes the key kid sign from now on.
func (r *Ring) SetCurrent(kid string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.keys[kid]; !ok {
		return fmt.Errorf("keyring: no key %q", kid)
	}
	r.current = kid
	return nil
}

// Current returns the signing key.
func (r *Ring) Current() *Key {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.keys[r.current]
}

// Public returns the public key kid, if the ring has it.
func (r *Ring) Public(kid string) (ed25519.PublicKey, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.keys[kid]
	if !ok {
		return nil, false
	}
	return k.Public, true
}

// SigningKey returns the current key's id and a function that signs with that key.
func (r *Ring) SigningKey() (kid string, sign func(msg []byte) []byte) {
	k := r.Current()
	return k.ID, func(msg []byte) []byte { return ed25519.Sign(k.Private, msg) }
}

// Verify reports whether sig is kid's signature of msg. An unknown kid never verifies.
func (r *Ring) Verify(kid string, msg, sig []byte) bool {
	pub, ok := r.Public(kid)
	return ok && len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig)
}

// Signer returns the current key as a crypto.Signer, for libraries that take one.
func (r *Ring) Signer() (crypto.Signer, string) {
	k := r.Current()
	return k.Private, k.ID
}

// JWK is one public key in JSON Web Key form (RFC 8037 for Ed25519).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns every public key of the ring, current first, then by kid.
func (r *Ring) JWKS() []JWK {
	r.mu.RLock()
	defer r.mu.RUnlock()
	ids := make([]string, 0, len(r.keys))
	for id := range r.keys {
		if id != r.current {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	ids = append([]string{r.current}, ids...)
	out := make([]JWK, 0, len(ids))
	for _, id := range ids {
		k := r.keys[id]
		out = append(out, JWK{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(k.Public),
			Kid: id, Alg: "EdDSA", Use: "sig"})
	}
	return out
}

// LoadDir reads the keyring in dir, creating the directory and a first key if it holds none.
func LoadDir(dir string) (*Ring, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.pem"))
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	r := New()
	for _, f := range files {
		k, err := readKey(f)
		if err != nil {
			return nil, err
		}
		r.Add(k)
	}
	if len(r.keys) == 0 {
		k, err := Generate()
		if err != nil {
			return nil, err
		}
		if err := WriteKey(dir, k, true); err != nil {
			return nil, err
		}
		r.Add(k)
		return r, nil
	}
	cur, err := os.ReadFile(filepath.Join(dir, "current"))
	if err != nil {
		return nil, fmt.Errorf("keyring: %d keys in %s but no file 'current' naming the signing one", len(r.keys), dir)
	}
	if err := r.SetCurrent(strings.TrimSpace(string(cur))); err != nil {
		return nil, err
	}
	return r, nil
}

// WriteKey stores k in dir (readable by the owner only) and, if current, makes it the signing key.
func WriteKey(dir string, k *Key, current bool) error {
	der, err := x509.MarshalPKCS8PrivateKey(k.Private)
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileAtomic(filepath.Join(dir, k.ID+".pem"), data); err != nil {
		return err
	}
	if current {
		return writeFileAtomic(filepath.Join(dir, "current"), []byte(k.ID+"\n"))
	}
	return nil
}

func readKey(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("keyring: %s is not PEM", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("keyring: %s: %w", path, err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keyring: %s is not an Ed25519 key", path)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return &Key{ID: KeyID(pub), Private: priv, Public: pub}, nil
}

// Secret reads a named random secret from dir, creating it with n random bytes if missing. It
// holds keys that are not signing keys, such as the one that authenticates refresh tokens.
func Secret(dir, name string, n int) ([]byte, error) {
	path := filepath.Join(dir, name)
	data, err := os.ReadFile(path)
	if err == nil {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(b) < 16 {
			return nil, fmt.Errorf("keyring: %s does not hold a base64 secret of at least 16 bytes", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	if err := writeFileAtomic(path, []byte(base64.StdEncoding.EncodeToString(b)+"\n")); err != nil {
		return nil, err
	}
	return b, nil
}

// writeFileAtomic writes through a temporary file and a rename, so a crash never leaves half a key.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	return nil
}
