package codec

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload: its encoding, as Temporal's samples
// and Web UI know it, and the id of its key.
const (
	MetadataEncoding  = converter.MetadataEncoding
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
)

// aad binds a ciphertext to the key id written beside it, so a payload
// whose metadata was edited to name another key fails to decrypt.
func aad(keyID string) []byte { return []byte("countersign-payload-v1/" + keyID) }

// Encode encrypts each payload with the ring's current key: the whole
// original payload (metadata and data) becomes the ciphertext, so not even
// its encoding shows. Payloads already encrypted are left as they are.
func (r *Ring) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	id := r.Current()
	aead := r.aeads[id]
	for i, p := range payloads {
		if Encrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		_, _ = rand.Read(nonce) // crypto/rand never fails
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:    []byte(id),
			},
			Data: aead.Seal(nonce, nonce, plain, aad(id)),
		}
	}
	return out, nil
}

// Decode decrypts the payloads this codec encrypted and passes the others
// through: a stock `temporal` CLI sends plain JSON.
func (r *Ring) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !Encrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := r.aeads[id]
		if !ok {
			return nil, fmt.Errorf("codec: payload encrypted with key %q, which is not configured (PAYLOAD_KEYS keeps old keys after a rotation)", id)
		}
		data := p.GetData()
		if len(data) < aead.NonceSize()+aead.Overhead() {
			return nil, errors.New("codec: encrypted payload is too short")
		}
		plain, err := aead.Open(nil, data[:aead.NonceSize()], data[aead.NonceSize():], aad(id))
		if err != nil {
			return nil, fmt.Errorf("codec: payload does not decrypt with key %q", id)
		}
		var orig commonpb.Payload
		if err := proto.Unmarshal(plain, &orig); err != nil {
			return nil, fmt.Errorf("codec: %w", err)
		}
		out[i] = &orig
	}
	return out, nil
}

// Encrypted reports whether p is a payload of this codec.
func Encrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[MetadataEncoding]) == EncodingEncrypted
}

// Plain marks a value that must stay readable without the keys, such as
// the memo the Web UI lists: DataConverter writes it unencrypted. Never
// wrap a value that holds an answer.
type Plain struct{ Value any }

// MarshalJSON writes the wrapped value, so that a Plain written by another
// converter still reads back as the value.
func (p Plain) MarshalJSON() ([]byte, error) {
	return json.Marshal(p.Value)
}

// DataConverter is Temporal's default data converter with every payload
// encrypted by r, except values wrapped in Plain.
func DataConverter(r *Ring) converter.DataConverter {
	return &dataConverter{
		DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), r),
		plain:         converter.GetDefaultDataConverter(),
	}
}

type dataConverter struct {
	converter.DataConverter
	plain converter.DataConverter
}

func (d *dataConverter) ToPayload(value any) (*commonpb.Payload, error) {
	if p, ok := value.(Plain); ok {
		return d.plain.ToPayload(p.Value)
	}
	return d.DataConverter.ToPayload(value)
}

func (d *dataConverter) ToPayloads(values ...any) (*commonpb.Payloads, error) {
	for _, v := range values {
		if _, ok := v.(Plain); ok {
			out := &commonpb.Payloads{}
			for _, v := range values {
				p, err := d.ToPayload(v)
				if err != nil {
					return nil, err
				}
				out.Payloads = append(out.Payloads, p)
			}
			return out, nil
		}
	}
	return d.DataConverter.ToPayloads(values...)
}
