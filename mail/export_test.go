package mail

import (
	"encoding/base64"
)

// SignRaw signs raw claims with key, as Sign does with a link's.
func SignRaw(key, claims string) string {
	k := &LinkKey{key: []byte(key)}
	enc := base64.RawURLEncoding.EncodeToString([]byte(claims))
	return enc + "." + base64.RawURLEncoding.EncodeToString(k.mac(enc))
}
