package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/countersign/countersign/codec"
	"github.com/countersign/countersign/internal/config"
)

// runKeys is `countersign keys generate`: a new payload key, printed as
// PAYLOAD_KEYS takes it, or written to a key file that does not exist yet.
func runKeys(args []string, stdout io.Writer, now time.Time) error {
	if len(args) == 0 || args[0] != "generate" {
		return errors.New("usage: countersign keys generate [--id ID] [--file FILE]")
	}
	fs := flag.NewFlagSet("countersign keys generate", flag.ContinueOnError)
	id := fs.String("id", "", "the key's id (default k<today's date>)")
	file := fs.String("file", "", "create this key file (mode 0600) unless it exists, instead of printing the key")
	if _, err := config.LoadFlags(fs, config.Keys, args[1:], os.LookupEnv); err != nil {
		return err
	}
	if *file != "" {
		if *id != "" {
			return errors.New("--id goes with printing; a new key file names its key after the date")
		}
		return codec.WriteKeyFile(*file, now)
	}
	line, err := codec.GenerateEntry(*id, now)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, line)
	return err
}
