package slackapp

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/countersign/countersign/notify"
	"github.com/countersign/countersign/requests"
	"github.com/countersign/countersign/store"
)

// Action ids of the message's buttons and the reject dialog.
const (
	actionApprove = "countersign_approve"
	actionReject  = "countersign_reject"
	actionOpen    = "countersign_open"
	// rejectCallback is the reject dialog's callback id; its reason input
	// is reasonBlock/reasonAction.
	rejectCallback = "countersign_reject"
	reasonBlock    = "reason"
	reasonAction   = "reason"
)

// Bounds of what a message shows of a request's answers: Slack refuses a
// section text over 3000 characters.
const (
	maxAnswers     = 25
	maxValueRunes  = 200
	maxAnswerChars = 2800
	maxJustRunes   = 500
)

// card is what a direct message shows of a request.
type card struct {
	RequestID     int64
	CatalogItem   string
	Requester     string
	Justification string
	Answers       []string
	Stage         string
	// Position is the stage's position, which the buttons carry.
	Position int
	Deadline *time.Time
	// Closed, when set, replaces the buttons: the request moved on.
	Closed string
	// OpenURL is the request's page in the portal.
	OpenURL string
}

// newCard is the card of request r, with its answers as the request holds
// them (password answers are stored masked, as "$encrypted$").
func newCard(r store.Request, stage string, deadline *time.Time, portal string) card {
	c := card{RequestID: r.ID, CatalogItem: r.CatalogItemName, Requester: r.RequesterUsername,
		Justification: r.Justification, Answers: requests.AnswerLines(r, maxAnswers, maxValueRunes), Stage: stage, Deadline: deadline,
		OpenURL: notify.RequestPage(portal, r.ID)}
	if r.CurrentStage != nil {
		c.Position = *r.CurrentStage
	}
	return c
}

// escape makes text safe in Slack's mrkdwn: what a requester typed never
// becomes a link, a mention or a command.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}
func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

// Text is the message's fallback text (notifications, screen readers).
func (c card) Text() string {
	return fmt.Sprintf("Request %d (%s) by %s", c.RequestID, c.CatalogItem, c.Requester)
}

// Blocks lay the card out: what is asked, the answers, the stage and its
// deadline, then Approve / Reject / Open, or, once closed, why not.
func (c card) Blocks() []slack.Block {
	head := fmt.Sprintf("*Request %d: %s*\nRequested by *%s*", c.RequestID, escape(notify.Cut(c.CatalogItem, 150)), escape(c.Requester))
	if c.Justification != "" {
		head += "\n>" + strings.ReplaceAll(escape(notify.Cut(c.Justification, maxJustRunes)), "\n", "\n>")
	}
	blocks := []slack.Block{slack.NewSectionBlock(mrkdwn(head), nil, nil)}
	if len(c.Answers) > 0 {
		var b strings.Builder
		for _, a := range c.Answers {
			line := "• " + escape(a) + "\n"
			if b.Len()+len(line) > maxAnswerChars {
				b.WriteString("• …\n")
				break
			}
			b.WriteString(line)
		}
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn("*Answers*\n"+b.String()), nil, nil))
	}
	var fields []*slack.TextBlockObject
	if c.Stage != "" {
		fields = append(fields, mrkdwn("*Stage*\n"+escape(notify.Cut(c.Stage, 150))))
	}
	if c.Deadline != nil {
		fields = append(fields, mrkdwn(fmt.Sprintf("*Deadline*\n<!date^%d^{date_short_pretty} {time}|%s>",
			c.Deadline.Unix(), c.Deadline.UTC().Format(time.RFC3339))))
	}
	if len(fields) > 0 {
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil))
	}
	open := slack.NewButtonBlockElement(actionOpen, strconv.FormatInt(c.RequestID, 10), plain("Open")).WithURL(c.OpenURL)
	if c.Closed != "" {
		blocks = append(blocks, slack.NewContextBlock("status", mrkdwn(escape(c.Closed))),
			slack.NewActionBlock("decide", open))
		return blocks
	}
	value := buttonValue(c.RequestID, c.Position)
	blocks = append(blocks, slack.NewActionBlock("decide",
		slack.NewButtonBlockElement(actionApprove, value, plain("Approve")).WithStyle(slack.StylePrimary),
		slack.NewButtonBlockElement(actionReject, value, plain("Reject")).WithStyle(slack.StyleDanger),
		open))
	return blocks
}

// buttonValue is what Approve and Reject carry: the request and the stage
// the message is about, so a click on a message about a stage that has
// closed decides nothing.
func buttonValue(id int64, position int) string {
	return strconv.FormatInt(id, 10) + ":" + strconv.Itoa(position)
}

// parseButtonValue reads buttonValue's output; ok is false for anything
// else.
func parseButtonValue(v string) (id int64, position int, ok bool) {
	if len(v) > 40 {
		return 0, 0, false
	}
	a, b, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	p, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || id <= 0 || p < 0 {
		return 0, 0, false
	}
	return id, p, true
}
