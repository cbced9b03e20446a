package temporaldev_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"
	"google.golang.org/grpc"

	"github.com/countersign/countersign/internal/temporaldev"
)

func TestStart_RegistersSearchAttributes(t *testing.T) {
	srv, err := temporaldev.Start(context.Background(), temporaldev.Options{
		SearchAttributes: map[string]string{"RequestStatus": "Keyword", "PendingApprovers": "KeywordList"},
	})
	require.NoError(t, err)
	defer srv.Stop()

	c, err := client.Dial(client.Options{HostPort: srv.HostPort})
	require.NoError(t, err)
	defer c.Close()
	resp, err := c.OperatorService().ListSearchAttributes(context.Background(),
		&operatorservice.ListSearchAttributesRequest{Namespace: srv.Namespace})
	require.NoError(t, err)
	assert.Equal(t, "Keyword", resp.GetCustomAttributes()["RequestStatus"].String())
	assert.Equal(t, "KeywordList", resp.GetCustomAttributes()["PendingApprovers"].String())
}

func TestStart_MissingBinaryIsAClearFailure(t *testing.T) {
	t.Setenv("TEMPORAL_CLI", "/nonexistent/temporal")
	_, err := temporaldev.Start(context.Background(), temporaldev.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/temporal")
}

// A start that fails because a port was taken between being picked and
// being bound (here the first of two, as the CLI would report it) is tried
// again and succeeds.
func TestStart_RetriesWhenAPortWasTakenMeanwhile(t *testing.T) {
	realCLI, err := temporaldev.Binary()
	require.NoError(t, err)
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	script := `#!/bin/sh
echo start >> '` + starts + `'
if [ "$(wc -l < '` + starts + `')" -eq 1 ]; then
	echo 'level=ERROR msg="Failed to start gRPC listener" error="listen tcp 127.0.0.1:33669: bind: address already in use" service=matching' >&2
	exit 2
fi
exec '` + realCLI + `' "$@"
`
	cli := filepath.Join(dir, "temporal")
	require.NoError(t, os.WriteFile(cli, []byte(script), 0o755))
	t.Setenv("TEMPORAL_CLI", cli)

	srv, err := temporaldev.Start(context.Background(), temporaldev.Options{})
	require.NoError(t, err)
	defer srv.Stop()
	got, err := os.ReadFile(starts)
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(got), "start\n"), "started once more after the port clash")
}

// Anything else that ends the server at start is not tried again.
func TestStart_OtherFailuresAreNotRetried(t *testing.T) {
	dir := t.TempDir()
	starts := filepath.Join(dir, "starts")
	cli := filepath.Join(dir, "temporal")
	require.NoError(t, os.WriteFile(cli, []byte("#!/bin/sh\necho start >> '"+starts+"'\necho 'unknown flag' >&2\nexit 1\n"), 0o755))
	t.Setenv("TEMPORAL_CLI", cli)

	_, err := temporaldev.Start(context.Background(), temporaldev.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "unknown flag")
	got, err := os.ReadFile(starts)
	require.NoError(t, err)
	assert.Equal(t, "start\n", string(got))
}

// The server hands the activity a workflow task schedules back to the
// worker that completed the task, in its answer, instead of through the
// task queue: the activity costs the server no task queue round trip.
func TestStart_ActivitiesRunEagerly(t *testing.T) {
	ctx := context.Background()
	srv, err := temporaldev.Start(ctx, temporaldev.Options{})
	require.NoError(t, err)
	defer srv.Stop()
	var handedBack atomic.Int32
	countHandedBack := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		err := invoker(ctx, method, req, reply, cc, opts...)
		if resp, ok := reply.(*workflowservice.RespondWorkflowTaskCompletedResponse); ok && err == nil {
			handedBack.Add(int32(len(resp.GetActivityTasks())))
		}
		return err
	}
	c, err := client.Dial(client.Options{HostPort: srv.HostPort, Namespace: srv.Namespace,
		ConnectionOptions: client.ConnectionOptions{DialOptions: []grpc.DialOption{grpc.WithChainUnaryInterceptor(countHandedBack)}}})
	require.NoError(t, err)
	defer c.Close()

	const queue = "eager"
	w := worker.New(c, queue, worker.Options{})
	w.RegisterActivityWithOptions(func(ctx context.Context, name string) (string, error) { return "hello " + name, nil },
		activity.RegisterOptions{Name: "greet"})
	w.RegisterWorkflowWithOptions(func(ctx workflow.Context, name string) (string, error) {
		ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute})
		var out string
		err := workflow.ExecuteActivity(ctx, "greet", name).Get(ctx, &out)
		return out, err
	}, workflow.RegisterOptions{Name: "greeting"})
	require.NoError(t, w.Start())
	defer w.Stop()

	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{TaskQueue: queue}, "greeting", "bob")
	require.NoError(t, err)
	var got string
	require.NoError(t, run.Get(ctx, &got))
	assert.Equal(t, "hello bob", got)
	assert.Equal(t, int32(1), handedBack.Load(), "activity tasks handed back with the workflow task's completion")
}
