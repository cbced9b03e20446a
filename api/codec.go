package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
	commonpb "go.temporal.io/api/common/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/store"
)

// The codec endpoint follows Temporal's codec server protocol, so the
// Temporal Web UI (its codec endpoint setting) and the `temporal` CLI
// (--codec-endpoint, --codec-auth) read encrypted payloads through it:
// POST <base>/decode and <base>/encode with {"payloads": [...]}.
const (
	codecPath = "/api/v2/codec"
	// maxCodecBody bounds a codec call: a request's largest payloads (its
	// answers, its state) are far below it even base64-encoded.
	maxCodecBody = 4 << 20
	// maxCodecPayloads bounds the payloads of one call.
	maxCodecPayloads = 1000
)

func (s *Server) codecRoutes(r *gin.Engine) {
	g := r.Group(codecPath, s.codecCORS)
	g.OPTIONS("/:op", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	auth := g.Group("", s.authenticateForCodec, s.mayDecode)
	auth.POST("/decode", s.codec(s.d.PayloadKeys.Decode))
	auth.POST("/encode", s.codec(s.d.PayloadKeys.Encode))
}

// codecCORS lets the configured origins (the Temporal Web UI's) call the
// codec endpoint from a browser, with credentials, so that the portal's
// session authenticates the UI's calls. Other origins get no CORS headers,
// so browsers keep their pages from reading the answers.
func (s *Server) codecCORS(c *gin.Context) {
	origin := c.GetHeader("Origin")
	allowed := origin != "" && slices.Contains(s.d.CodecOrigins, origin)
	c.Header("Vary", "Origin")
	if allowed {
		c.Header("Access-Control-Allow-Origin", origin)
		c.Header("Access-Control-Allow-Credentials", "true")
	}
	if c.Request.Method == http.MethodOptions {
		if !allowed {
			abort(c, refuse(originRefused, "This origin may not call the codec endpoint (CODEC_ORIGINS)."))
			return
		}
		c.Header("Access-Control-Allow-Methods", "POST, OPTIONS")
		c.Header("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace, X-CSRF-Token")
		c.Header("Access-Control-Max-Age", "600")
	}
	c.Next()
}

// mayDecode lets superusers and the members of CODEC_TEAM through: whoever
// reads decoded payloads reads every request's answers.
func (s *Server) mayDecode(c *gin.Context) {
	p := caller(c)
	if p.IsSuperuser {
		c.Next()
		return
	}
	ok, err := s.inCodecTeam(c)
	switch {
	case err != nil:
		c.Error(err)
		c.Abort()
	case !ok:
		s.logFor(c).Warn("codec call refused")
		c.Error(access.ErrForbidden)
		c.Abort()
	default:
		c.Next()
	}
}

func (s *Server) inCodecTeam(c *gin.Context) (bool, error) {
	orgName, teamName, ok := strings.Cut(s.d.CodecTeam, "/")
	if !ok {
		return false, nil
	}
	ctx := c.Request.Context()
	org, err := s.d.Store.GetOrganizationByName(ctx, orgName)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	team, err := s.d.Store.GetTeamByName(ctx, org.ID, teamName)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return slices.Contains(caller(c).Teams, team.ID), nil
}

// codec answers a codec call with op applied to its payloads.
func (s *Server) codec(op func([]*commonpb.Payload) ([]*commonpb.Payload, error)) gin.HandlerFunc {
	return handle(func(c *gin.Context) error {
		body, err := readRaw(c)
		if err != nil {
			return err
		}
		var in commonpb.Payloads
		if err := protojson.Unmarshal(body, &in); err != nil {
			return badRequest(`The body must be {"payloads": [...]}, Temporal payloads in protobuf JSON.`)
		}
		if len(in.Payloads) > maxCodecPayloads {
			return badRequest("At most 1000 payloads per call.")
		}
		out, err := op(in.Payloads)
		if err != nil {
			// The codec's errors name key ids, never keys or payloads.
			return badRequest(err.Error())
		}
		s.logFor(c).Info("codec call", "op", c.FullPath(), "payloads", len(out))
		b, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
		if err != nil {
			return err
		}
		c.Data(http.StatusOK, "application/json", b)
		return nil
	})
}
