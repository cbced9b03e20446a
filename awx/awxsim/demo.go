package awxsim

// Ids of the templates and nodes in DemoInventory.
const (
	DemoRestartServiceID       int64 = 7  // job template with a survey
	DemoHealthCheckID          int64 = 9  // job template without a survey
	DemoProvisionEnvironmentID int64 = 11 // workflow job template
	DemoRotateCredentialsID    int64 = 13 // job template whose jobs fail
	DemoCreateDatabaseID       int64 = 21 // job template of node "create-database"
	DemoDeployAppID            int64 = 22 // job template of node "deploy-app"

	DemoCreateDatabaseNodeID int64 = 31
	DemoDeployAppNodeID      int64 = 32
)

func intPtr(n int) *int { return &n }

// DemoInventory is the inventory of `countersign dev` (SPEC 8.1). No
// variable is defined by two surveys, so the workflow's and its nodes'
// answers can be merged into one extra_vars. The workflow prompts for
// variables so that node answers are accepted at its launch. AWX lists a
// node in node_prompts_rejected unless its saved extra_data answers every
// required question of its template's survey (defaults do not count), so
// node "create-database" saves answers, as AWX's workflow editor asks; the
// workflow's extra_vars override them at launch. Labels are prompted
// everywhere except on "Health check", so both ways of recognising an
// earlier launch can be demonstrated.
func DemoInventory() Inventory {
	return Inventory{
		JobTemplates: []JobTemplate{
			{
				ID:                DemoRestartServiceID,
				Name:              "Restart service",
				Description:       "Drain a service's traffic, restart it and put it back in rotation.",
				SurveyEnabled:     true,
				AskLabelsOnLaunch: true,
				Survey: &Survey{Name: "Restart service", Description: "Which service to restart, and how.", Spec: []SurveyQuestion{
					{Type: QuestionMultipleChoice, QuestionName: "Service", QuestionDescription: "The service to restart.",
						Variable: "service_name", Required: true, Choices: []string{"api", "web", "worker"}},
					{Type: QuestionInteger, QuestionName: "Drain time (seconds)", QuestionDescription: "How long to drain connections first.",
						Variable: "drain_seconds", Default: 30, Min: intPtr(0), Max: intPtr(600)},
					{Type: QuestionText, QuestionName: "Reason", QuestionDescription: "Why the restart is needed.",
						Variable: "reason", Max: intPtr(200)},
				}},
			},
			{
				ID:          DemoHealthCheckID,
				Name:        "Health check",
				Description: "Check that every service answers its health endpoint.",
			},
			{
				ID:                DemoRotateCredentialsID,
				Name:              "Rotate credentials",
				Description:       "Rotate the service accounts' credentials.",
				AskLabelsOnLaunch: true,
				Outcome:           StatusFailed,
				Explanation:       "Task \"Rotate secret in vault\" failed on 1 host: permission denied.",
			},
			{
				ID:            DemoCreateDatabaseID,
				Name:          "Create database",
				Description:   "Create the environment's database.",
				SurveyEnabled: true,
				Survey: &Survey{Name: "Database", Description: "The environment's database.", Spec: []SurveyQuestion{
					{Type: QuestionMultipleChoice, QuestionName: "Database size", QuestionDescription: "Instance class of the database.",
						Variable: "db_size", Required: true, Choices: []string{"small", "medium", "large"}},
					{Type: QuestionPassword, QuestionName: "Database password", QuestionDescription: "Password of the database owner.",
						Variable: "db_password", Required: true, Min: intPtr(8)},
				}},
			},
			{
				ID:            DemoDeployAppID,
				Name:          "Deploy app",
				Description:   "Deploy the application into the environment.",
				SurveyEnabled: true,
				Survey: &Survey{Name: "Deployment", Description: "How to deploy the application.", Spec: []SurveyQuestion{
					{Type: QuestionInteger, QuestionName: "Replicas", QuestionDescription: "Number of application replicas.",
						Variable: "replicas", Default: 2, Min: intPtr(1), Max: intPtr(10)},
					{Type: QuestionMultiSelect, QuestionName: "Features", QuestionDescription: "Optional features to turn on.",
						Variable: "features", Choices: []string{"metrics", "tracing", "autoscaling"}},
				}},
			},
		},
		WorkflowJobTemplates: []WorkflowJobTemplate{
			{
				ID:                   DemoProvisionEnvironmentID,
				Name:                 "Provision environment",
				Description:          "Create a database, then deploy the application on it.",
				SurveyEnabled:        true,
				AskVariablesOnLaunch: true,
				AskLabelsOnLaunch:    true,
				Survey: &Survey{Name: "Environment", Description: "The environment to provision.", Spec: []SurveyQuestion{
					{Type: QuestionText, QuestionName: "Environment name", QuestionDescription: "Name of the new environment.",
						Variable: "env_name", Required: true, Min: intPtr(3), Max: intPtr(30)},
					{Type: QuestionInteger, QuestionName: "Time to live (days)", QuestionDescription: "Days before the environment is deleted.",
						Variable: "ttl_days", Required: true, Default: 3, Min: intPtr(1), Max: intPtr(30)},
				}},
				Nodes: []WorkflowNode{
					{ID: DemoCreateDatabaseNodeID, Identifier: "create-database", UnifiedJobTemplate: DemoCreateDatabaseID,
						SuccessNodes: []int64{DemoDeployAppNodeID},
						ExtraData:    map[string]any{"db_size": "small", "db_password": "saved-in-the-workflow-node"}},
					{ID: DemoDeployAppNodeID, Identifier: "deploy-app", UnifiedJobTemplate: DemoDeployAppID},
				},
			},
		},
	}
}
