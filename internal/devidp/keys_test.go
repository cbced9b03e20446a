package devidp_test

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/countersign/countersign/internal/devidp"
)

// A key file signs the ID tokens, so that they outlive a restart.
func TestLoadKey_SignsTheIDTokens(t *testing.T) {
	key, err := devidp.GenerateKey()
	require.NoError(t, err)
	dir := t.TempDir()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	files := map[string][]byte{
		"pkcs8.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		"pkcs1.pem": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}),
		"cert.pem":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("x")}),
	}
	for name, b := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	for _, name := range []string{"pkcs8.pem", "pkcs1.pem"} {
		loaded, err := devidp.LoadKey(filepath.Join(dir, name))
		require.NoError(t, err, name)
		assert.True(t, key.Equal(loaded), name)
	}
	_, err = devidp.LoadKey(filepath.Join(dir, "cert.pem"))
	assert.ErrorContains(t, err, "not an RSA private key")

	rp := startProvider(t, func(c *devidp.Config) { c.Key = key })
	s := rp.authorize()
	s.login("bob", devidp.DemoPassword("bob"))
	tok, err := s.exchange(s.code(), s.verifier)
	require.NoError(t, err)
	byFile := oidc.NewVerifier(rp.idp.Issuer(), &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{&key.PublicKey}},
		&oidc.Config{ClientID: clientID})
	_, err = byFile.Verify(t.Context(), tok.Extra("id_token").(string))
	assert.NoError(t, err, "the ID token is signed with the key of the file")
}
