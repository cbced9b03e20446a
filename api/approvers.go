package api

import (
	"context"

	"github.com/countersign/countersign/requests"
)

// approversChange is a change of who may decide waiting requests.
type approversChange = requests.Change

// approversChanged tells the waiting requests ch concerns that who may
// decide them changed: every membership, role and user change calls it,
// so none is missed (see requests.Service.ApproversChanged).
func (s *Server) approversChanged(ctx context.Context, ch approversChange) {
	s.requests.ApproversChanged(ctx, ch)
}
