package mail

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/notify"
)

// LinkKey signs and verifies decision links (MAIL_LINK_KEY).
type LinkKey struct{ key []byte }

// MinLinkKey is the shortest key accepted, in bytes.
const MinLinkKey = 32

// MaxLinkToken bounds a link's token: longer ones are refused unread.
const MaxLinkToken = 1024

// NewLinkKey checks key; its error does not repeat it.
func NewLinkKey(key string) (*LinkKey, error) {
	if len(key) < MinLinkKey {
		return nil, errors.New("MAIL_LINK_KEY must be at least 32 bytes")
	}
	return &LinkKey{key: []byte(key)}, nil
}

// linkDomain separates these signatures from anything else the key might
// ever sign.
const linkDomain = "countersign mail link v1\x00"

// NewLink is a link for user to take action on stage (its position) of
// request id until expires, with a fresh random id.
func NewLink(user string, id int64, stage int, action approval.Action, expires time.Time) approval.MailLink {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return approval.MailLink{ID: hex.EncodeToString(b), User: user, RequestID: id, Stage: stage, Action: action,
		Expires: expires.UTC().Truncate(time.Second)}
}

// Sign is link's token: its claims and their HMAC-SHA256, both
// base64url, joined by a dot.
func (k *LinkKey) Sign(link approval.MailLink) string {
	payload, err := json.Marshal(link)
	if err != nil {
		panic(err) // strings, numbers and a time always marshal
	}
	enc := base64.RawURLEncoding.EncodeToString(payload)
	return enc + "." + base64.RawURLEncoding.EncodeToString(k.mac(enc))
}

// Verify reads a token Sign made with this key. Anything else (changed,
// cut short, too long, another key's) is approval.CodeLinkInvalid. Verify
// says nothing of the link's use: see approval.CheckMailLink.
func (k *LinkKey) Verify(token string) (approval.MailLink, error) {
	if len(token) > MaxLinkToken {
		return approval.MailLink{}, approval.LinkInvalid()
	}
	enc, sig, ok := strings.Cut(token, ".")
	if !ok {
		return approval.MailLink{}, approval.LinkInvalid()
	}
	mac, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(mac, k.mac(enc)) {
		return approval.MailLink{}, approval.LinkInvalid()
	}
	payload, err := base64.RawURLEncoding.DecodeString(enc)
	if err != nil {
		return approval.MailLink{}, approval.LinkInvalid()
	}
	var link approval.MailLink
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&link); err != nil || link.ID == "" || link.User == "" || link.RequestID <= 0 || link.Stage < 0 {
		return approval.MailLink{}, approval.LinkInvalid()
	}
	return link, nil
}

func (k *LinkKey) mac(enc string) []byte {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(linkDomain))
	m.Write([]byte(enc))
	return m.Sum(nil)
}

// Links is a LinkFunc making Approve and Reject links to the portal at
// portalURL for the stage a notification is about, expiring at its
// deadline; none for a notification without a stage or deadline.
func (k *LinkKey) Links(portalURL string) LinkFunc {
	base := strings.TrimRight(portalURL, "/") + "/ui/mail/decide?t="
	return func(n notify.Notification, to notify.Recipient) (*Links, error) {
		if n.StagePosition < 0 || n.Deadline == nil || n.RequestID <= 0 {
			return nil, nil
		}
		link := func(a approval.Action) string {
			return base + k.Sign(NewLink(to.Username, n.RequestID, n.StagePosition, a, *n.Deadline))
		}
		return &Links{Approve: link(approval.ActionApprove), Reject: link(approval.ActionReject)}, nil
	}
}
