package main

import (
	"context"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/worker"
)

func runWorker(ctx context.Context, args []string) error {
	cfg, logger, err := loadConfig(config.Worker, args)
	if err != nil {
		return err
	}
	return worker.Serve(ctx, cfg, logger)
}
