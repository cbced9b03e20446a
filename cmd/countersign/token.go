package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/store"
)

// runToken is `countersign token create --user NAME`: it issues an API
// token and prints it once (it is stored only as a hash), to bootstrap the
// first superuser or script an account.
func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("usage: countersign token create --user NAME [--create-superuser] [--description TEXT]")
	}
	fs := flag.NewFlagSet("countersign token create", flag.ContinueOnError)
	user := fs.String("user", "", "username the token acts as (required)")
	description := fs.String("description", "created on the command line", "what the token is for")
	createSuperuser := fs.Bool("create-superuser", false, "create the user as a superuser if it does not exist (the first account of a new installation)")
	cfg, err := config.LoadFlags(fs, config.Token, args[1:], os.LookupEnv)
	if err != nil {
		return err
	}
	if *user == "" {
		return errors.New("--user is required")
	}
	if err := cfg.RequireDatabase(); err != nil {
		return err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer st.Close()
	u, err := st.GetUserByUsername(ctx, *user)
	if errors.Is(err, store.ErrNotFound) && *createSuperuser {
		u, err = st.CreateUser(ctx, store.NewUser{Username: *user, IsSuperuser: true})
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("no user named %q (--create-superuser creates it)", *user)
	}
	if err != nil {
		return err
	}
	plain, _, err := st.CreateToken(ctx, u.ID, *description)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, plain)
	return err
}
