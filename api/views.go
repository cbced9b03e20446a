package api

import (
	"fmt"
	"time"

	"github.com/countersign/countersign/access"
	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// Representations of objects, in AWX's manner: id, type, url, related,
// summary_fields, then the fields. One Go type per concept, so a concept
// has one shape wherever it is shown. summary_fields.user_capabilities
// says what the caller may do to the object (access.CapabilitiesOf): true
// exactly when the call would pass the same checks.

// Head identifies an object: its id, its type and where it is.
type Head struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	URL  string `json:"url"`
}

func head(kind, collection string, id int64) Head {
	return Head{ID: id, Type: kind, URL: fmt.Sprintf("/api/v2/%s/%d/", collection, id)}
}

// Ref names another object: the same {id, name} a request's plan
// freezes (approval.Ref), so that it has one schema wherever it is shown.
type Ref = approval.Ref

func ref(id int64, name string) Ref { return Ref{ID: id, Name: name} }

// optionalRef is a reference to an object that may be absent (nil id).
func optionalRef(id *int64, name string) *Ref {
	if id == nil {
		return nil
	}
	r := ref(*id, name)
	return &r
}

// Summary is the summary_fields of objects that show nothing but what
// the caller may do to them.
type Summary struct {
	UserCapabilities access.Capabilities `json:"user_capabilities"`
}

// Organization is an organization.
type Organization struct {
	Head
	Related struct {
		Admins string `json:"admins"`
		Users  string `json:"users"`
		Teams  string `json:"teams"`
	} `json:"related"`
	SummaryFields   Summary   `json:"summary_fields"`
	Name            string    `json:"name"`
	Description     string    `json:"description"`
	AWXOrganization *int64    `json:"awx_organization"`
	Created         time.Time `json:"created"`
	Modified        time.Time `json:"modified"`
}

func orgObject(id int64) access.Object {
	return access.Object{Resource: access.Organization, Organization: id}
}

func orgView(p access.Principal, o store.Organization) Organization {
	v := Organization{Head: head("organization", "organizations", o.ID), Name: o.Name, Description: o.Description,
		AWXOrganization: o.AWXOrganization, Created: o.Created, Modified: o.Modified}
	v.Related.Admins, v.Related.Users = v.URL+"admins/", v.URL+"users/"
	v.Related.Teams = fmt.Sprintf("/api/v2/teams/?organization=%d", o.ID)
	v.SummaryFields.UserCapabilities = access.CapabilitiesOf(p, orgObject(o.ID))
	return v
}

// User is a user as they, their organizations' admins and superusers see
// them: with their email and account flags.
type User struct {
	Head
	Related struct {
		Tokens string `json:"tokens"`
	} `json:"related"`
	SummaryFields Summary   `json:"summary_fields"`
	Username      string    `json:"username"`
	Email         string    `json:"email"`
	FirstName     string    `json:"first_name"`
	LastName      string    `json:"last_name"`
	IsSuperuser   bool      `json:"is_superuser"`
	IsActive      bool      `json:"is_active"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
}

// userObject describes u to access; shared are the organizations u
// belongs to (nil when unknown: only visibility needs them, and whoever
// may change a user sees them anyway).
func userObject(u store.User, shared []int64) access.Object {
	return access.Object{Resource: access.User, Owner: u.ID, SharedOrgs: shared}
}

func userView(p access.Principal, u store.User) User {
	v := User{Head: head("user", "users", u.ID), Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		IsSuperuser: u.IsSuperuser, IsActive: u.IsActive, Created: u.Created, Modified: u.Modified}
	v.Related.Tokens = v.URL + "tokens/"
	v.SummaryFields.UserCapabilities = access.CapabilitiesOf(p, userObject(u, nil))
	return v
}

// UserSummary is a user as fellow members see them.
type UserSummary struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Username  string `json:"username"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func userSummary(u store.User) UserSummary {
	return UserSummary{ID: u.ID, Type: "user", Username: u.Username, FirstName: u.FirstName, LastName: u.LastName}
}

// Identity is the caller (/me/): their user, organizations and teams.
type Identity struct {
	User
	Organizations []Membership `json:"organizations"`
	Teams         []TeamRef    `json:"teams"`
}

// Membership is an organization the caller belongs to; Role is "admin"
// or "member".
type Membership struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Role string `json:"role"`
}

// TeamRef is a team the caller belongs to.
type TeamRef struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	Organization int64  `json:"organization"`
}

// Team is a team.
type Team struct {
	Head
	Related struct {
		Members string `json:"members"`
	} `json:"related"`
	SummaryFields Summary   `json:"summary_fields"`
	Organization  int64     `json:"organization"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
}

func teamObject(t store.Team) access.Object {
	return access.Object{Resource: access.Team, Organization: t.OrganizationID}
}

func teamView(p access.Principal, t store.Team) Team {
	v := Team{Head: head("team", "teams", t.ID), Organization: t.OrganizationID, Name: t.Name, Description: t.Description,
		Created: t.Created, Modified: t.Modified}
	v.Related.Members = v.URL + "members/"
	v.SummaryFields.UserCapabilities = access.CapabilitiesOf(p, teamObject(t))
	return v
}

// Credential is what tokens and decision keys share: whose they are, what
// for, and their use.
type Credential struct {
	User        int64      `json:"user"`
	Description string     `json:"description"`
	Created     time.Time  `json:"created"`
	LastUsed    *time.Time `json:"last_used"`
	Revoked     bool       `json:"revoked"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

func credential(user int64, description string, created time.Time, lastUsed, revokedAt *time.Time) Credential {
	return Credential{User: user, Description: description, Created: created, LastUsed: lastUsed, Revoked: revokedAt != nil, RevokedAt: revokedAt}
}

// Token is an API token, without its secret.
type Token struct {
	Head
	Credential
	Prefix string `json:"prefix"`
}

// NewToken is a token just issued: the only answer that holds its secret.
type NewToken struct {
	Token
	Secret string `json:"token"`
}

func tokenView(t store.Token) Token {
	return Token{Head: head("token", "tokens", t.ID), Credential: credential(t.UserID, t.Description, t.Created, t.LastUsed, t.RevokedAt),
		Prefix: t.Prefix}
}

// DecisionKey is a decision key, without its private half.
type DecisionKey struct {
	Head
	Credential
	KeyID   string    `json:"key_id"`
	Expires time.Time `json:"expires"`
}

// NewDecisionKey is a decision key just issued: the only answer that holds
// its private half.
type NewDecisionKey struct {
	DecisionKey
	PrivateKey string `json:"private_key"`
}

func decisionKeyView(k store.DecisionKey) DecisionKey {
	return DecisionKey{Head: head("decision_key", "decision_keys", k.ID),
		Credential: credential(k.UserID, k.Description, k.Created, k.LastUsed, k.RevokedAt), KeyID: k.KeyID, Expires: k.Expires}
}

// Item is a catalog item.
type Item struct {
	Head
	Related struct {
		LaunchData string `json:"launch_data"`
		Submit     string `json:"submit"`
		Requests   string `json:"requests"`
	} `json:"related"`
	SummaryFields struct {
		Organization     Ref                     `json:"organization"`
		ApproverTeam     *Ref                    `json:"approver_team"`
		UserCapabilities access.ItemCapabilities `json:"user_capabilities"`
	} `json:"summary_fields"`
	Organization        int64     `json:"organization"`
	Name                string    `json:"name"`
	Description         string    `json:"description"`
	Icon                string    `json:"icon"`
	Category            string    `json:"category"`
	Tags                []string  `json:"tags"`
	JobTemplate         *int64    `json:"job_template"`
	WorkflowJobTemplate *int64    `json:"workflow_job_template"`
	IsWorkflow          bool      `json:"is_workflow"`
	RequiresApproval    bool      `json:"requires_approval"`
	ApproverTeam        *int64    `json:"approver_team"`
	Enabled             bool      `json:"enabled"`
	Created             time.Time `json:"created"`
	Modified            time.Time `json:"modified"`
}

func itemObject(i store.CatalogItem) access.Object {
	return access.Object{Resource: access.CatalogItem, Organization: i.OrganizationID, Enabled: i.Enabled}
}

// itemViewFor is an item with what p may do to it.
func itemViewFor(p access.Principal, i store.CatalogItem) Item {
	v := Item{Head: head("service_catalog_item", "service_catalog_items", i.ID), Organization: i.OrganizationID,
		Name: i.Name, Description: i.Description, Icon: i.Icon, Category: i.Category, Tags: i.Tags,
		JobTemplate: i.JobTemplateID, WorkflowJobTemplate: i.WorkflowJobTemplateID, IsWorkflow: i.IsWorkflow(),
		RequiresApproval: i.RequiresApproval, ApproverTeam: i.ApproverTeamID, Enabled: i.Enabled, Created: i.Created, Modified: i.Modified}
	v.Related.LaunchData, v.Related.Submit, v.Related.Requests = v.URL+"launch_data/", v.URL+"submit/", v.URL+"requests/"
	v.SummaryFields.Organization = ref(i.OrganizationID, i.OrganizationName)
	v.SummaryFields.ApproverTeam = optionalRef(i.ApproverTeamID, i.ApproverTeamName)
	v.SummaryFields.UserCapabilities = access.ItemCapabilitiesOf(p, itemObject(i))
	return v
}

// Policy is an approval policy.
type Policy struct {
	Head
	SummaryFields Summary       `json:"summary_fields"`
	Organization  int64         `json:"organization"`
	Name          string        `json:"name"`
	Priority      int           `json:"priority"`
	Condition     string        `json:"condition"`
	Enabled       bool          `json:"enabled"`
	Stages        []PolicyStage `json:"stages"`
	Created       time.Time     `json:"created"`
	Modified      time.Time     `json:"modified"`
}

// PolicyStage is a stage of a policy; order is its place in the list,
// from 1.
type PolicyStage struct {
	Name          string `json:"name"`
	Order         int    `json:"order"`
	ApproverTeam  *int64 `json:"approver_team"`
	SummaryFields struct {
		ApproverTeam *Ref `json:"approver_team"`
	} `json:"summary_fields"`
	MinApprovers     int               `json:"min_approvers"`
	DenialMessage    string            `json:"denial_message"`
	Timeout          approval.Duration `json:"timeout"`
	ReminderInterval approval.Duration `json:"reminder_interval"`
	// RequireRecentLogin: see approval.Stage; "0s" for none.
	RequireRecentLogin approval.Duration `json:"require_recent_login"`
	// MaxExtension, WarnBefore: see approval.Stage; "0s" for none.
	MaxExtension approval.Duration `json:"max_extension"`
	WarnBefore   approval.Duration `json:"warn_before"`
	// Escalations: see approval.Stage; never null.
	Escalations []PolicyEscalation `json:"escalations"`
}

// PolicyEscalation is an escalation step of a policy's stage.
type PolicyEscalation struct {
	After         approval.Duration `json:"after"`
	ApproverTeam  int64             `json:"approver_team"`
	SummaryFields struct {
		ApproverTeam Ref `json:"approver_team"`
	} `json:"summary_fields"`
}

func policyObject(p store.Policy) access.Object {
	return access.Object{Resource: access.Policy, Organization: p.OrganizationID}
}

func policyView(caller access.Principal, p store.Policy) Policy {
	v := Policy{Head: head("approval_policy", "approval_policies", p.ID), Organization: p.OrganizationID, Name: p.Name,
		Priority: p.Priority, Condition: p.Condition, Enabled: p.Enabled, Stages: make([]PolicyStage, len(p.Stages)),
		Created: p.Created, Modified: p.Modified}
	v.SummaryFields.UserCapabilities = access.CapabilitiesOf(caller, policyObject(p))
	for i, st := range p.Stages {
		s := PolicyStage{Name: st.Name, Order: i + 1, ApproverTeam: st.ApproverTeamID, MinApprovers: st.MinApprovers,
			DenialMessage: st.DenialMessage, Timeout: approval.Duration(st.Timeout), ReminderInterval: approval.Duration(st.ReminderInterval),
			RequireRecentLogin: approval.Duration(st.RequireRecentLogin), MaxExtension: approval.Duration(st.MaxExtension),
			WarnBefore: approval.Duration(st.WarnBefore), Escalations: make([]PolicyEscalation, len(st.Escalations))}
		s.SummaryFields.ApproverTeam = optionalRef(st.ApproverTeamID, st.ApproverTeamName)
		for j, e := range st.Escalations {
			s.Escalations[j] = PolicyEscalation{After: approval.Duration(e.After), ApproverTeam: e.ApproverTeamID}
			s.Escalations[j].SummaryFields.ApproverTeam = Ref{ID: e.ApproverTeamID, Name: e.ApproverTeamName}
		}
		v.Stages[i] = s
	}
	return v
}

// Ping answers /api/v2/ping/.
type Ping struct {
	Ping    string `json:"ping"`
	Version string `json:"version"`
}

// Page is AWX's list envelope; next and previous are path and query only,
// null at the ends.
type Page[T any] struct {
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`
}

// Delegation is a delegation (out of office): from starts until ends,
// delegate may decide wherever delegator may. Active says whether it is
// in force now.
type Delegation struct {
	Head
	SummaryFields struct {
		Delegator        NamedUser                 `json:"delegator"`
		Delegate         NamedUser                 `json:"delegate"`
		UserCapabilities access.DeleteCapabilities `json:"user_capabilities"`
	} `json:"summary_fields"`
	Delegator int64     `json:"delegator"`
	Delegate  int64     `json:"delegate"`
	Starts    time.Time `json:"starts"`
	Ends      time.Time `json:"ends"`
	Reason    string    `json:"reason"`
	Active    bool      `json:"active"`
	// CreatedBy is who set it up (null once that account is deleted).
	CreatedBy *int64    `json:"created_by"`
	Created   time.Time `json:"created"`
}

// NamedUser is a user by id and username.
type NamedUser struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
}

// delegationView shows d to p at now; orgs are its delegator's
// organizations.
func delegationView(p access.Principal, d store.Delegation, orgs []int64, now time.Time) Delegation {
	v := Delegation{Head: head("delegation", "delegations", d.ID), Delegator: d.DelegatorID, Delegate: d.DelegateID,
		Starts: d.Starts, Ends: d.Ends, Reason: d.Reason, Active: !now.Before(d.Starts) && now.Before(d.Ends),
		CreatedBy: d.CreatedBy, Created: d.Created}
	v.SummaryFields.Delegator = NamedUser{ID: d.DelegatorID, Username: d.DelegatorUsername}
	v.SummaryFields.Delegate = NamedUser{ID: d.DelegateID, Username: d.DelegateUsername}
	v.SummaryFields.UserCapabilities = access.DeleteCapabilitiesOf(p, delegationObject(d.DelegatorID, orgs))
	return v
}
