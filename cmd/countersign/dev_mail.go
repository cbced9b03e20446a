package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/mail/catcher"
)

// devMail is the dev stack's mail: an SMTP catcher the worker sends
// through, and the page listing what it caught (DEV_MAIL_PORT).
type devMail struct {
	catcher *catcher.Catcher
	page    *http.Server
	url     string
	key     string
}

// startDevMail starts the catcher on a free loopback port and its page on
// the mail port. The link key is kept in the data directory, so that the
// links of mails sent before a restart still work.
func startDevMail(o config.Config) (*devMail, error) {
	key, err := devMailLinkKey(filepath.Join(o.Dev.DataDir, "mail-link.key"))
	if err != nil {
		return nil, err
	}
	c, err := catcher.Listen("127.0.0.1:0", catcher.Options{})
	if err != nil {
		return nil, fmt.Errorf("mail catcher: %w", err)
	}
	ln, err := net.Listen("tcp", addr(o.Dev.MailPort))
	if err != nil {
		_ = c.Close()
		return nil, portInUse(o.Dev.MailPort, "mail page", "mail-port", "DEV_MAIL_PORT")
	}
	m := &devMail{catcher: c, key: key, url: "http://" + addr(o.Dev.MailPort) + "/",
		page: &http.Server{Handler: c, ReadHeaderTimeout: 5 * time.Second}}
	go func() { _ = m.page.Serve(ln) }()
	return m, nil
}

// configure sends cfg's notifications through the catcher too, with
// decision links to the portal at portal.
func (m *devMail) configure(cfg *config.Config, portal string) {
	cfg.SMTPURL = "smtp://" + m.catcher.Addr()
	cfg.SMTPFrom = "Countersign <countersign@localhost>"
	cfg.PortalURL = portal
	cfg.MailLinkKey = m.key
}

func (m *devMail) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = m.page.Shutdown(ctx)
	_ = m.catcher.Close()
}

// devMailLinkKey reads the key in file, or writes a new one there (mode
// 0600).
func devMailLinkKey(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err == nil && len(strings.TrimSpace(string(b))) >= config.MinMailLinkKey {
		return strings.TrimSpace(string(b)), nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	key := hex.EncodeToString(raw)
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		return "", err
	}
	return key, nil
}
