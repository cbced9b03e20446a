package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/store"
)

// runMigrate applies pending migrations ("up", the default) or reverts the
// last N ("down N").
func runMigrate(ctx context.Context, args []string) error {
	var action []string
	for len(args) > 0 && (args[0] == "up" || args[0] == "down" || isNumber(args[0])) {
		action, args = append(action, args[0]), args[1:]
	}
	cfg, logger, err := loadConfig(config.Migrate, args)
	if err != nil {
		return err
	}
	if err := cfg.RequireDatabase(); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer st.Close()
	switch {
	case len(action) == 0 || (len(action) == 1 && action[0] == "up"):
		applied, err := store.Migrate(ctx, st.DB())
		if err != nil {
			return err
		}
		logger.Info("migrations applied", "applied", applied)
		return nil
	case len(action) == 2 && action[0] == "down":
		n, _ := strconv.Atoi(action[1])
		if n < 1 {
			return fmt.Errorf("migrate down needs a positive number of steps")
		}
		reverted, err := store.MigrateDown(ctx, st.DB(), n)
		if err != nil {
			return err
		}
		logger.Info("migrations reverted", "reverted", reverted)
		return nil
	}
	return fmt.Errorf("usage: countersign migrate [up] | countersign migrate down N")
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
