package codec_test

import (
	"os"
	"testing"

	commonpb "go.temporal.io/api/common/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/countersign/countersign/codec"
)

// requestPayloads are the payloads of a typical request's whole history
// (two stages, two approvers each, a launch and its polls), recorded
// before payloads were encrypted.
func requestPayloads(b *testing.B) []*commonpb.Payload {
	b.Helper()
	raw, err := os.ReadFile("../workflows/testdata/replay/two_stage_successful.json")
	if err != nil {
		b.Fatal(err)
	}
	var h historypb.History
	if err := protojson.Unmarshal(raw, &h); err != nil {
		b.Fatal(err)
	}
	var out []*commonpb.Payload
	var walk func(m protoreflect.Message)
	walk = func(m protoreflect.Message) {
		if p, ok := m.Interface().(*commonpb.Payload); ok {
			out = append(out, p)
			return
		}
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			switch {
			case fd.IsList() && fd.Message() != nil:
				for i := 0; i < v.List().Len(); i++ {
					walk(v.List().Get(i).Message())
				}
			case fd.IsMap() && fd.MapValue().Message() != nil:
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool { walk(mv.Message()); return true })
			case fd.Message() != nil:
				walk(v.Message())
			}
			return true
		})
	}
	walk(h.ProtoReflect())
	return out
}

// BenchmarkCodec_Request encrypts, then decrypts, every payload of one
// typical request: what the codec adds to a request's life, on the worker
// and the API together (each payload is encoded once and decoded about
// once).
func BenchmarkCodec_Request(b *testing.B) {
	payloads := requestPayloads(b)
	r, err := codec.ParseKeys("bench:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	if err != nil {
		b.Fatal(err)
	}
	plainBytes := 0
	for _, p := range payloads {
		plainBytes += proto.Size(p)
	}
	enc, err := r.Encode(payloads)
	if err != nil {
		b.Fatal(err)
	}
	encBytes := 0
	for _, p := range enc {
		encBytes += proto.Size(p)
	}
	b.ResetTimer()
	for range b.N {
		enc, err := r.Encode(payloads)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := r.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(payloads)), "payloads/request")
	b.ReportMetric(float64(plainBytes), "plain-B/request")
	b.ReportMetric(float64(encBytes), "encrypted-B/request")
}
