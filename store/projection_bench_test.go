package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkStore_RecordRequestState records the transitions of typical
// requests (the first stage opened, one approval, approved and launched,
// the job finished) from 4×GOMAXPROCS goroutines, enough to keep
// PostgreSQL busy: one op is one recorded transition, the request's stages
// and responses growing as a request's do. Creating the requests is part
// of the time.
func BenchmarkStore_RecordRequestState(b *testing.B) {
	ctx := context.Background()
	f := newFixture(b)
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var id int64
		for seq := int64(1); pb.Next(); seq++ {
			if seq > 4 {
				seq = 1
			}
			if seq == 1 {
				req, err := f.s.CreateRequest(ctx, f.newRequestInput())
				require.NoError(b, err)
				id = req.ID
			}
			st := snapshot(f, id, min(seq, 3))
			st.Seq = seq
			if seq == 4 {
				st.Status, st.Job.Status = "successful", "successful"
			}
			_, err := f.s.RecordRequestState(ctx, st)
			require.NoError(b, err)
		}
	})
}
