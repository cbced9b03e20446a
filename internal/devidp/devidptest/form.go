// Package devidptest helps tests sign in at the local OpenID provider as a
// browser would: by reading its login form and posting it back.
package devidptest

import (
	"errors"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// LoginForm reads the first form of a page: its action and its inputs'
// names and values (the CSRF token among them), ready to post back with
// the username and password set.
func LoginForm(page string) (*url.URL, url.Values, error) {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return nil, nil, err
	}
	var action *url.URL
	fields := url.Values{}
	var walk func(*html.Node) error
	walk = func(n *html.Node) error {
		if n.Type == html.ElementNode {
			attr := map[string]string{}
			for _, a := range n.Attr {
				attr[a.Key] = a.Val
			}
			switch {
			case n.Data == "form" && action == nil:
				if action, err = url.Parse(attr["action"]); err != nil {
					return err
				}
			case n.Data == "input" && attr["name"] != "":
				fields.Set(attr["name"], attr["value"])
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(doc); err != nil {
		return nil, nil, err
	}
	if action == nil {
		return nil, nil, errors.New("no form on the page")
	}
	return action, fields, nil
}
