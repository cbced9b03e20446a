package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/proof"
	"github.com/countersign/countersign/store"
)

// Decision keys live DefaultDecisionKeyLifetime unless their owner asks for
// less; never more than maxDecisionKeyLifetime.
const (
	defaultDecisionKeyLifetime = 90 * 24 * time.Hour
	maxDecisionKeyLifetime     = 366 * 24 * time.Hour
)

func (s *Server) decisionKeyRoutes(r *gin.RouterGroup) {
	r.GET("/users/:id/decision_keys/", s.listDecisionKeys)
	r.POST("/users/:id/decision_keys/", s.createDecisionKey)
	// The caller's own, without looking up their id first.
	r.GET("/me/decision_keys/", s.listDecisionKeys)
	r.POST("/me/decision_keys/", s.createDecisionKey)
	r.DELETE("/decision_keys/:id/", s.revokeDecisionKey)
}

// keyOwner is the user of the path, or the caller on /me/.
func (s *Server) keyOwner(c *gin.Context) (store.User, error) {
	if c.Param("id") == "" {
		return s.d.Store.GetUser(c.Request.Context(), caller(c).UserID)
	}
	return s.userFor(c, access.View)
}

func decisionKeyView(k store.DecisionKey) gin.H {
	return gin.H{
		"id": k.ID, "type": "decision_key", "url": fmt.Sprintf("/api/v2/decision_keys/%d/", k.ID),
		"user": k.UserID, "key_id": k.KeyID, "description": k.Description, "created": k.Created,
		"expires": k.Expires, "last_used": k.LastUsed, "revoked": k.RevokedAt != nil, "revoked_at": k.RevokedAt,
	}
}

// listDecisionKeys lists a user's decision keys: their own, or anyone's
// for a superuser.
func (s *Server) listDecisionKeys(c *gin.Context) {
	u, err := s.keyOwner(c)
	if err != nil {
		c.Error(err)
		return
	}
	if err := access.Check(caller(c), access.View, access.Object{Resource: access.DecisionKey, Owner: u.ID}); err != nil {
		c.Error(access.ErrForbidden) // the user is visible; their keys are not
		return
	}
	opts, err := listQuery(c)
	if err != nil {
		c.Error(err)
		return
	}
	keys, total, err := s.d.Store.ListDecisionKeys(c.Request.Context(), u.ID, opts)
	if err != nil {
		c.Error(err)
		return
	}
	out := make([]gin.H, len(keys))
	for i, k := range keys {
		out[i] = decisionKeyView(k)
	}
	page(c, opts, total, out)
}

// createDecisionKey issues the caller a decision key for the `temporal`
// CLI. Its private half is in this answer only; the API keeps the public
// half. Nobody gets a key for someone else.
func (s *Server) createDecisionKey(c *gin.Context) {
	u, err := s.keyOwner(c)
	if err != nil {
		c.Error(err)
		return
	}
	if err := access.Check(caller(c), access.Create, access.Object{Resource: access.DecisionKey, Owner: u.ID}); err != nil {
		c.Error(access.ErrForbidden)
		return
	}
	var b struct {
		Description *string    `json:"description"`
		Expires     *time.Time `json:"expires"`
	}
	if err := bind(c, &b); err != nil {
		c.Error(err)
		return
	}
	now := time.Now()
	expires := now.Add(defaultDecisionKeyLifetime)
	errs := fieldErrors{}
	if len(deref(b.Description)) > 512 {
		errs.add("description", "Use at most 512 characters.")
	}
	if b.Expires != nil {
		expires = *b.Expires
		if !expires.After(now) || expires.Sub(now) > maxDecisionKeyLifetime {
			errs.add("expires", "Give a time in the next 366 days (RFC 3339, e.g. 2027-03-01T00:00:00Z).")
		}
	}
	if err := errs.err(); err != nil {
		c.Error(err)
		return
	}
	key := proof.NewUserKey()
	k, err := s.d.Store.CreateDecisionKey(c.Request.Context(), store.DecisionKey{
		UserID: u.ID, KeyID: key.ID, PublicKey: key.Public, Description: deref(b.Description), Expires: expires,
	})
	if err != nil {
		c.Error(err)
		return
	}
	out := decisionKeyView(k)
	out["private_key"] = key.Private
	c.JSON(http.StatusCreated, out)
}

func (s *Server) revokeDecisionKey(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		c.Error(err)
		return
	}
	ctx := c.Request.Context()
	k, err := s.d.Store.GetDecisionKey(ctx, id)
	if err != nil {
		c.Error(err)
		return
	}
	if err := access.Check(caller(c), access.Delete, access.Object{Resource: access.DecisionKey, Owner: k.UserID}); err != nil {
		c.Error(err)
		return
	}
	if err := s.d.Store.RevokeDecisionKey(ctx, k.ID); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			err = errNotFound
		}
		c.Error(err)
		return
	}
	c.Status(http.StatusNoContent)
}
