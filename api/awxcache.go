package api

import (
	"context"
	"errors"

	"github.com/countersign/countersign/awx"
	"github.com/countersign/countersign/requests"
)

// What the API reads of AWX templates is the request service's cache.
type (
	templateInfo = requests.TemplateInfo
	nodeInfo     = requests.NodeInfo
)

// templateCache answers the catalog's checks from the request service's
// cache of AWX's answers.
type templateCache struct{ *requests.Templates }

func (c templateCache) template(ctx context.Context, kind awx.TemplateKind, id int64) (*templateInfo, error) {
	return c.Template(ctx, kind, id)
}

// awxError is requests.TemplateError: AWX unreachable is *Unavailable,
// AWX refusing the template *TemplateRefused.
func awxError(kind awx.TemplateKind, id int64, err error) error {
	return requests.TemplateError(kind, id, err)
}

// templateRefused reports whether err is AWX refusing a template (not AWX
// being unavailable).
func templateRefused(err error) bool {
	var refused *requests.TemplateRefused
	return errors.As(err, &refused)
}
