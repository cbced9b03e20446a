package devidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	jose "github.com/go-jose/go-jose/v4"
)

// GenerateKey makes a fresh RSA signing key. A provider that generates
// its key at every start invalidates the ID tokens of the previous run,
// which is what a development stack wants.
func GenerateKey() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
}

// LoadKey reads an RSA private key from a PEM file (PKCS#1 "RSA PRIVATE
// KEY" or PKCS#8 "PRIVATE KEY"), for a provider whose tokens must outlive
// a restart.
func LoadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, fmt.Errorf("signing key %s: no PEM block", path)
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", path, err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("signing key %s: not an RSA key", path)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("signing key %s: PEM block %q is not an RSA private key", path, block.Type)
}

// signingKey is the provider's one key, in the two shapes op wants: the
// private half to sign, the public half for the JWKS.
type signingKey struct {
	id      string
	private *rsa.PrivateKey
}

func newSigningKey(k *rsa.PrivateKey) (*signingKey, error) {
	if k == nil {
		return nil, errors.New("devidp: no signing key")
	}
	if k.N.BitLen() < 2048 {
		return nil, errors.New("devidp: the signing key must have at least 2048 bits")
	}
	// The key id follows the key, so that a relying party's cached JWKS
	// never matches a different key under the same id.
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &signingKey{id: hex.EncodeToString(sum[:8]), private: k}, nil
}

func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *signingKey) Key() any                                    { return k.private }
func (k *signingKey) ID() string                                  { return k.id }

// publicKey is the JWKS entry of a signingKey.
type publicKey struct{ *signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.private.PublicKey }
