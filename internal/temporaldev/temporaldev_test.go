package temporaldev_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

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
