package main

import (
	"context"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/internal/wiring"
)

func runWorker(ctx context.Context, args []string) error {
	cfg, logger, err := loadConfig(config.Worker, args)
	if err != nil {
		return err
	}
	return wiring.Worker(ctx, cfg, logger)
}
