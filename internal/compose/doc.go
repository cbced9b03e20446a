// Package compose holds the tests of the repository's docker-compose.yml.
package compose
