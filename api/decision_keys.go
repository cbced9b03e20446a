package api

import (
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
	r.GET("/users/:id/decision_keys/", handle(s.listDecisionKeys))
	r.POST("/users/:id/decision_keys/", handle(s.createDecisionKey))
	// The caller's own, without looking up their id first.
	r.GET("/me/decision_keys/", handle(s.listDecisionKeys))
	r.POST("/me/decision_keys/", handle(s.createDecisionKey))
	r.DELETE("/decision_keys/:id/", revoke(access.DecisionKey, s.d.Store.GetDecisionKey, s.d.Store.RevokeDecisionKey,
		func(k store.DecisionKey) (int64, int64) { return k.ID, k.UserID }))
}

// keyOwner is the user of the path, or the caller on /me/.
func (s *Server) keyOwner(c *gin.Context) (store.User, error) {
	if c.Param("id") == "" {
		return s.d.Store.GetUser(c.Request.Context(), caller(c).UserID)
	}
	return s.userFor(c, access.View)
}

// credentialOwner is the user whose credentials of resource r (tokens,
// decision keys, sessions) the path names (keyOwner), if the caller may
// see them: their own, or anyone's for a superuser. A user the caller sees
// but whose credentials they may not is ErrForbidden.
func (s *Server) credentialOwner(c *gin.Context, r access.Resource) (store.User, error) {
	u, err := s.keyOwner(c)
	if err != nil {
		return u, err
	}
	if !access.Can(caller(c), access.View, access.Object{Resource: r, Owner: u.ID}) {
		return u, access.ErrForbidden // the user is visible; their credentials are not
	}
	return u, nil
}

// listDecisionKeys lists a user's decision keys: their own, or anyone's
// for a superuser.
func (s *Server) listDecisionKeys(c *gin.Context) error {
	u, err := s.credentialOwner(c, access.DecisionKey)
	if err != nil {
		return err
	}
	return listOwned(c, u.ID, s.d.Store.ListDecisionKeys, decisionKeyView)
}

// decisionKeyBody is a decision key as asked for; it expires after
// defaultDecisionKeyLifetime unless Expires says sooner.
type decisionKeyBody struct {
	Description *string    `json:"description"`
	Expires     *time.Time `json:"expires"`
}

// createDecisionKey issues the caller a decision key for the `temporal`
// CLI. Its private half is in this answer only; the API keeps the public
// half. Nobody gets a key for someone else.
func (s *Server) createDecisionKey(c *gin.Context) error {
	u, err := s.keyOwner(c)
	if err != nil {
		return err
	}
	if !access.Can(caller(c), access.Create, access.Object{Resource: access.DecisionKey, Owner: u.ID}) {
		return access.ErrForbidden
	}
	var b decisionKeyBody
	if err := bind(c, &b); err != nil {
		return err
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
		return err
	}
	key := proof.NewUserKey()
	k, err := s.d.Store.CreateDecisionKey(c.Request.Context(), store.DecisionKey{
		UserID: u.ID, KeyID: key.ID, PublicKey: key.Public, Description: deref(b.Description), Expires: expires,
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, NewDecisionKey{DecisionKey: decisionKeyView(k), PrivateKey: key.Private})
	return nil
}
