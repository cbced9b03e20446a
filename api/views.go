package api

import (
	"fmt"

	"github.com/gin-gonic/gin"

	"github.com/countersign/countersign/approval"
	"github.com/countersign/countersign/store"
)

// Representations of objects, in AWX's manner: id, type, url, related,
// summary_fields, then the fields.

func ref(id int64, name string) gin.H { return gin.H{"id": id, "name": name} }

func orgView(o store.Organization) gin.H {
	url := fmt.Sprintf("/api/v2/organizations/%d/", o.ID)
	return gin.H{
		"id": o.ID, "type": "organization", "url": url,
		"related":          gin.H{"admins": url + "admins/", "users": url + "users/", "teams": fmt.Sprintf("/api/v2/teams/?organization=%d", o.ID)},
		"name":             o.Name,
		"description":      o.Description,
		"awx_organization": o.AWXOrganization,
		"created":          o.Created, "modified": o.Modified,
	}
}

func userView(u store.User) gin.H {
	url := fmt.Sprintf("/api/v2/users/%d/", u.ID)
	return gin.H{
		"id": u.ID, "type": "user", "url": url,
		"related":  gin.H{"tokens": url + "tokens/"},
		"username": u.Username, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"is_superuser": u.IsSuperuser, "is_active": u.IsActive,
		"created": u.Created, "modified": u.Modified,
	}
}

// userSummary is a user as fellow members see them.
func userSummary(u store.User) gin.H {
	return gin.H{"id": u.ID, "type": "user", "username": u.Username, "first_name": u.FirstName, "last_name": u.LastName}
}

func teamView(t store.Team) gin.H {
	url := fmt.Sprintf("/api/v2/teams/%d/", t.ID)
	return gin.H{
		"id": t.ID, "type": "team", "url": url,
		"related":      gin.H{"members": url + "members/"},
		"organization": t.OrganizationID, "name": t.Name, "description": t.Description,
		"created": t.Created, "modified": t.Modified,
	}
}

func tokenView(t store.Token) gin.H {
	return gin.H{
		"id": t.ID, "type": "token", "url": fmt.Sprintf("/api/v2/tokens/%d/", t.ID),
		"user": t.UserID, "description": t.Description, "prefix": t.Prefix,
		"created": t.Created, "last_used": t.LastUsed, "revoked": t.RevokedAt != nil, "revoked_at": t.RevokedAt,
	}
}

func itemView(i store.CatalogItem) gin.H {
	url := fmt.Sprintf("/api/v2/service_catalog_items/%d/", i.ID)
	var team any
	if i.ApproverTeamID != nil {
		team = ref(*i.ApproverTeamID, i.ApproverTeamName)
	}
	return gin.H{
		"id": i.ID, "type": "service_catalog_item", "url": url,
		"related": gin.H{"launch_data": url + "launch_data/", "submit": url + "submit/", "requests": url + "requests/"},
		"summary_fields": gin.H{
			"organization":  ref(i.OrganizationID, i.OrganizationName),
			"approver_team": team,
		},
		"organization": i.OrganizationID, "name": i.Name, "description": i.Description, "icon": i.Icon,
		"category": i.Category, "tags": i.Tags,
		"job_template": i.JobTemplateID, "workflow_job_template": i.WorkflowJobTemplateID, "is_workflow": i.IsWorkflow(),
		"requires_approval": i.RequiresApproval, "approver_team": i.ApproverTeamID, "enabled": i.Enabled,
		"created": i.Created, "modified": i.Modified,
	}
}

func policyView(p store.Policy) gin.H {
	stages := make([]gin.H, len(p.Stages))
	for i, st := range p.Stages {
		var team any
		if st.ApproverTeamID != nil {
			team = ref(*st.ApproverTeamID, st.ApproverTeamName)
		}
		stages[i] = gin.H{
			"name": st.Name, "order": i + 1, "approver_team": st.ApproverTeamID,
			"summary_fields":    gin.H{"approver_team": team},
			"min_approvers":     st.MinApprovers,
			"denial_message":    st.DenialMessage,
			"timeout":           approval.Duration(st.Timeout),
			"reminder_interval": approval.Duration(st.ReminderInterval),
		}
	}
	return gin.H{
		"id": p.ID, "type": "approval_policy", "url": fmt.Sprintf("/api/v2/approval_policies/%d/", p.ID),
		"organization": p.OrganizationID, "name": p.Name, "priority": p.Priority, "condition": p.Condition,
		"enabled": p.Enabled, "stages": stages, "created": p.Created, "modified": p.Modified,
	}
}
