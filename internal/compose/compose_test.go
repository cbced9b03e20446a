package compose_test

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/countersign/countersign/internal/config"
	"github.com/countersign/countersign/workflows"
)

// root is the repository's root, seen from this package.
const root = "../.."

// The compose file, as much of it as the tests read.
type composeFile struct {
	Services map[string]service `yaml:"services"`
	Configs  map[string]struct {
		Content string `yaml:"content"`
	} `yaml:"configs"`
	Volumes map[string]any `yaml:"volumes"`
}

type service struct {
	Image       string                `yaml:"image"`
	Build       string                `yaml:"build"`
	Entrypoint  stringList            `yaml:"entrypoint"`
	Command     stringList            `yaml:"command"`
	Environment environment           `yaml:"environment"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Ports       []port                `yaml:"ports"`
	Healthcheck *struct {
		Test    stringList `yaml:"test"`
		Disable bool       `yaml:"disable"`
	} `yaml:"healthcheck"`
	Restart string   `yaml:"restart"`
	Volumes []string `yaml:"volumes"`
	Configs []struct {
		Source string `yaml:"source"`
		Target string `yaml:"target"`
	} `yaml:"configs"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

// port is the long syntax, the only one the file uses: it names the host
// address, which must default to the loopback.
type port struct {
	Target    int    `yaml:"target"`
	Published string `yaml:"published"`
	HostIP    string `yaml:"host_ip"`
}

// stringList is a compose command, entrypoint or healthcheck test: a list,
// or one string.
type stringList []string

func (l *stringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*l = stringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// environment is a compose environment, a mapping or a list of NAME=value.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	if n.Kind == yaml.SequenceNode {
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			(*e)[k] = v
		}
		return nil
	}
	var m map[string]*string
	if err := n.Decode(&m); err != nil {
		return err
	}
	for k, v := range m {
		if v != nil {
			(*e)[k] = *v
		} else {
			(*e)[k] = ""
		}
	}
	return nil
}

func load(t *testing.T) composeFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	require.NoError(t, err)
	var f composeFile
	require.NoError(t, yaml.Unmarshal(raw, &f), "docker-compose.yml (ports and depends_on use the long syntax)")
	require.NotEmpty(t, f.Services)
	return f
}

// interpolation matches what Compose substitutes in a value: $$, ${VAR},
// ${VAR:-default}, ${VAR-default} and $VAR.
var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// resolve is s as Compose makes it with no variable set: the defaults.
func resolve(t *testing.T, s string) string {
	t.Helper()
	out := interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		return interpolation.FindStringSubmatch(m)[2]
	})
	require.NotContains(t, out, "${", "unsupported interpolation in %q", s)
	return out
}

// env is the environment of a service, defaults applied.
func env(t *testing.T, s service) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range s.Environment {
		out[k] = resolve(t, v)
	}
	return out
}

// script is the shell script a one-shot service runs, as the shell sees it.
func script(t *testing.T, s service) string {
	t.Helper()
	require.Len(t, s.Command, 1, "one script")
	return strings.ReplaceAll(s.Command[0], "$$", "$")
}

func TestServices(t *testing.T) {
	f := load(t)
	names := make([]string, 0, len(f.Services))
	for name := range f.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	assert.Equal(t, []string{
		"api", "awx-sim", "migrate", "payload-keys", "postgres", "temporal", "temporal-schema",
		"temporal-setup", "temporal-ui", "worker",
	}, names)
}

func TestImagesArePinned(t *testing.T) {
	f := load(t)
	for name, s := range f.Services {
		require.NotEmpty(t, s.Image, name)
		tag := tagOf(s.Image)
		assert.NotContains(t, s.Image, "$", "%s: the image is written out, not interpolated", name)
		assert.NotEmpty(t, tag, "%s: %s has no tag", name, s.Image)
		assert.NotEqual(t, "latest", tag, "%s: %s", name, s.Image)
		if s.Build == "" {
			// Pulled images: a version, not a moving name such as "16".
			assert.Regexp(t, `^\d+\.\d+`, tag, "%s: %s is not pinned to a minor version", name, s.Image)
		}
	}
}

func TestCountersignServicesShareOneImage(t *testing.T) {
	f := load(t)
	commands := map[string]string{"migrate": "migrate", "awx-sim": "awx-sim", "worker": "worker", "api": "api", "payload-keys": "keys"}
	for name, command := range commands {
		s := f.Services[name]
		assert.Equal(t, ".", s.Build, name)
		assert.Equal(t, "countersign:local", s.Image, name)
		require.NotEmpty(t, s.Command, name)
		assert.Equal(t, command, s.Command[0], name)
		assert.Empty(t, s.Entrypoint, "%s: the image's entrypoint is the binary", name)
	}
	for name, s := range f.Services {
		if _, ok := commands[name]; !ok {
			assert.Empty(t, s.Build, "%s builds nothing", name)
		}
	}
}

func TestHealthchecks(t *testing.T) {
	f := load(t)
	for _, name := range []string{"postgres", "temporal", "awx-sim", "api"} {
		hc := f.Services[name].Healthcheck
		if assert.NotNil(t, hc, "%s has no healthcheck", name) {
			assert.False(t, hc.Disable, name)
			if assert.NotEmpty(t, hc.Test, name) {
				assert.Contains(t, []string{"CMD", "CMD-SHELL"}, hc.Test[0], name)
			}
		}
	}
	hc := func(name string) string { return strings.Join(f.Services[name].Healthcheck.Test, " ") }
	assert.Contains(t, hc("postgres"), "pg_isready")
	assert.Contains(t, hc("temporal"), "7233")
	assert.Contains(t, hc("api"), "http://localhost:8080/api/v2/ping/")
	assert.Contains(t, hc("awx-sim"), "http://localhost:8052/api/v2/ping/")
	// curl is in the image on purpose (Dockerfile): the HTTP checks need it.
	assert.Equal(t, "curl", f.Services["api"].Healthcheck.Test[1])
}

func TestDependencies(t *testing.T) {
	const (
		healthy   = "service_healthy"
		completed = "service_completed_successfully"
	)
	app := map[string]string{"payload-keys": completed, "migrate": completed, "temporal-setup": completed, "temporal": healthy, "awx-sim": healthy}
	want := map[string]map[string]string{
		"postgres":        {},
		"temporal-schema": {"postgres": healthy},
		"temporal":        {"postgres": healthy, "temporal-schema": completed},
		"temporal-setup":  {"temporal": healthy},
		"temporal-ui":     {"temporal": healthy},
		"migrate":         {"postgres": healthy},
		"payload-keys":    {},
		"awx-sim":         {},
		"worker":          app,
		"api":             app,
	}
	f := load(t)
	for name, s := range f.Services {
		got := map[string]string{}
		for dep, d := range s.DependsOn {
			got[dep] = d.Condition
			target, ok := f.Services[dep]
			if !assert.True(t, ok, "%s depends on unknown %s", name, dep) {
				continue
			}
			switch d.Condition {
			case healthy:
				assert.NotNil(t, target.Healthcheck, "%s waits for %s to be healthy, which has no healthcheck", name, dep)
			case completed:
				assert.Contains(t, []string{"", "no"}, target.Restart, "%s waits for %s to complete: it must be one-shot", name, dep)
			}
		}
		assert.Equal(t, want[name], got, "depends_on of %s", name)
	}
}

func TestPublishedPorts(t *testing.T) {
	f := load(t)
	got := map[string]string{}
	for name, s := range f.Services {
		for _, p := range s.Ports {
			got[name] = fmt.Sprintf("%s->%d", resolve(t, p.Published), p.Target)
			assert.Equal(t, "127.0.0.1", resolve(t, p.HostIP), "%s publishes on the loopback by default", name)
		}
	}
	assert.Equal(t, map[string]string{
		"temporal":    "7233->7233",
		"temporal-ui": "8233->8080",
		"awx-sim":     "8052->8052",
		"api":         "8080->8080",
	}, got)
}

// TestCountersignSettings checks the environment of the Countersign
// services against internal/config: the variables it reads, and values that
// point at the other services.
func TestCountersignSettings(t *testing.T) {
	// The variables config.Load reads for each service's command: every one
	// it looks up.
	f := load(t)
	known := map[string]map[string]bool{}
	for name, cmd := range map[string]config.Command{"migrate": config.Migrate, "worker": config.Worker, "api": config.API} {
		assert.Equal(t, string(cmd), f.Services[name].Command[0], "%s runs countersign %s", name, cmd)
		known[name] = map[string]bool{}
		_, err := config.Load(cmd, nil, func(key string) (string, bool) {
			known[name][key] = true
			return "", false
		})
		require.NoError(t, err)
	}
	required := []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TASK_QUEUE", "AWX_URL", "AWX_TOKEN", "LOG_LEVEL"}
	for _, k := range append(required, "HTTP_ADDR") {
		require.True(t, known["api"][k], "config.Load no longer reads %s: update docker-compose.yml and this test", k)
	}
	for _, k := range required {
		require.True(t, known["worker"][k], "config.Load no longer reads %s: update docker-compose.yml and this test", k)
	}

	envs := map[string]map[string]string{}
	for _, name := range []string{"migrate", "worker", "api"} {
		envs[name] = env(t, f.Services[name])
		for k := range envs[name] {
			assert.True(t, known[name][k], "%s: %s is not a setting of its command", name, k)
		}
	}
	assert.Subset(t, keys(envs["worker"]), required, "worker")
	assert.Subset(t, keys(envs["api"]), append(required, "HTTP_ADDR"), "api")
	assert.Subset(t, keys(envs["migrate"]), []string{"DATABASE_URL"}, "migrate")

	// One database, the one the postgres service creates.
	pg := env(t, f.Services["postgres"])
	for name, e := range envs {
		u, err := url.Parse(e["DATABASE_URL"])
		require.NoError(t, err, name)
		assert.Equal(t, "postgres", u.Scheme, name)
		assert.Equal(t, "postgres:5432", u.Host, name)
		assert.Equal(t, "/"+pg["POSTGRES_DB"], u.Path, name)
		assert.Equal(t, pg["POSTGRES_USER"], u.User.Username(), name)
		pw, _ := u.User.Password()
		assert.Equal(t, pg["POSTGRES_PASSWORD"], pw, name)
		assert.Equal(t, "disable", u.Query().Get("sslmode"), name)
	}

	// api and worker agree, and reach Temporal and the simulator.
	setup := env(t, f.Services["temporal-setup"])
	sim := env(t, f.Services["awx-sim"])
	_, simPort, err := net.SplitHostPort(sim["AWX_SIM_ADDR"])
	require.NoError(t, err)
	for _, name := range []string{"worker", "api"} {
		e := envs[name]
		assert.Equal(t, "temporal:7233", e["TEMPORAL_ADDRESS"], name)
		assert.Equal(t, setup["TEMPORAL_NAMESPACE"], e["TEMPORAL_NAMESPACE"], "%s uses the namespace temporal-setup prepares", name)
		assert.Equal(t, envs["api"]["TASK_QUEUE"], e["TASK_QUEUE"], name)
		assert.Equal(t, "http://awx-sim:"+simPort, e["AWX_URL"], name)
		assert.Contains(t, strings.Split(sim["AWX_SIM_TOKENS"], ","), e["AWX_TOKEN"], "%s: the simulator accepts the AWX token", name)
		for _, k := range required {
			assert.NotEmpty(t, e[k], "%s: %s", name, k)
		}
	}
	assert.Equal(t, "0.0.0.0:8080", envs["api"]["HTTP_ADDR"], "the API listens on the port the compose file publishes")

	// The file's defaults are a configuration the API accepts, and single
	// sign-on is opt-in: without OIDC_ISSUER the portal signs in with
	// tokens.
	apiCfg, err := config.Load(config.API, nil, func(key string) (string, bool) {
		v, ok := envs["api"][key]
		return v, ok
	})
	require.NoError(t, err)
	assert.False(t, apiCfg.OIDC.Enabled())
	assert.True(t, apiCfg.OIDC.TokenSignIn())
	for _, k := range []string{"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET", "OIDC_REDIRECT_URL", "OIDC_GROUP_MAP"} {
		assert.Contains(t, envs["api"], k, "the api service passes %s on", k)
	}
	// The Slack app is opt-in too: both tokens in the api, the bot's in
	// the worker.
	assert.False(t, apiCfg.Slack.Enabled())
	for _, k := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "PORTAL_URL", "MAIL_LINK_KEY"} {
		assert.Contains(t, envs["api"], k, "the api service passes %s on", k)
	}
	for _, k := range []string{"SLACK_BOT_TOKEN", "PORTAL_URL", "SMTP_URL", "SMTP_FROM", "MAIL_LINK_KEY"} {
		assert.Contains(t, envs["worker"], k, "the worker service passes %s on", k)
	}

	// The api and the worker read the key file the payload-keys service
	// writes, from its volume, read-only.
	keys := f.Services["payload-keys"]
	require.Len(t, keys.Command, 4)
	assert.Equal(t, []string{"keys", "generate", "--file"}, []string(keys.Command[:3]))
	keyFile := keys.Command[3]
	require.Len(t, keys.Volumes, 1)
	volume, dir, _ := strings.Cut(keys.Volumes[0], ":")
	assert.Contains(t, f.Volumes, volume, "a named volume keeps the keys")
	assert.Equal(t, filepath.Dir(keyFile), dir)
	for _, name := range []string{"worker", "api"} {
		assert.Equal(t, keyFile, envs[name]["PAYLOAD_KEYS_FILE"], name)
		assert.Equal(t, []string{volume + ":" + dir + ":ro"}, f.Services[name].Volumes, name)
	}
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	assert.Contains(t, string(raw), "install -d -m 0700 -o countersign -g countersign "+dir,
		"the image owns the key directory, so the volume is writable by its user and private")

	// The Web UI decodes through the API's codec endpoint, with the
	// browser's session, from an origin the API allows.
	ui := env(t, f.Services["temporal-ui"])
	assert.Equal(t, "http://127.0.0.1:8080/api/v2/codec", ui["TEMPORAL_CODEC_ENDPOINT"], "the API as the browser reaches it")
	assert.Equal(t, "true", ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"])
	assert.Equal(t, "http://127.0.0.1:8233", envs["api"]["CODEC_ORIGINS"], "the UI's published address")
	assert.Equal(t, "0.0.0.0:8052", sim["AWX_SIM_ADDR"])
}

// TestAWXSimulatorSettings checks the simulator's variables against the
// ones `countersign awx-sim` reads.
func TestAWXSimulatorSettings(t *testing.T) {
	known := map[string]bool{}
	_, err := config.Load(config.AWXSim, nil, func(key string) (string, bool) {
		known[key] = true
		return "", false
	})
	require.NoError(t, err)
	require.True(t, known["AWX_SIM_ADDR"] && known["AWX_SIM_TOKENS"], "countersign awx-sim reads AWX_SIM_ADDR and AWX_SIM_TOKENS")
	assert.Equal(t, string(config.AWXSim), load(t).Services["awx-sim"].Command[0])
	for k := range load(t).Services["awx-sim"].Environment {
		assert.True(t, known[k], "awx-sim: %s is not a simulator setting", k)
	}
}

// TestSearchAttributes checks that temporal-setup registers exactly
// workflows.SearchAttributes: a new attribute needs a line here.
func TestSearchAttributes(t *testing.T) {
	s := load(t).Services["temporal-setup"]
	got := map[string]string{}
	for _, pair := range strings.Fields(env(t, s)["SEARCH_ATTRIBUTES"]) {
		name, typ, ok := strings.Cut(pair, "=")
		require.True(t, ok, "%q is not NAME=Type", pair)
		require.NotContains(t, got, name, "%s twice", name)
		got[name] = typ
	}
	assert.Equal(t, workflows.SearchAttributes, got)

	sh := script(t, s)
	assert.Equal(t, stringList{"/bin/sh", "-euc"}, s.Entrypoint)
	assert.Contains(t, sh, "for attr in $SEARCH_ATTRIBUTES; do")
	assert.Contains(t, sh, `temporal operator search-attribute create --address "$addr" --namespace "$ns" --name "$name" --type "$type"`)
	assert.Contains(t, sh, "already exists", "registering is idempotent")
	assert.Contains(t, sh, `temporal operator namespace create --address "$addr" --namespace "$ns"`)
	assert.Contains(t, sh, "temporal operator cluster health")
	assert.Equal(t, "temporal:7233", env(t, s)["TEMPORAL_ADDRESS"])
}

// TestTemporalPersistence checks that the Temporal server and its schema
// job use the postgres service, and the server its dynamic config.
func TestTemporalPersistence(t *testing.T) {
	f := load(t)
	pg := env(t, f.Services["postgres"])
	srv := env(t, f.Services["temporal"])
	assert.Equal(t, "postgres12", srv["DB"])
	assert.Equal(t, "postgres", srv["POSTGRES_SEEDS"])
	assert.Equal(t, "5432", srv["DB_PORT"])
	assert.Equal(t, pg["POSTGRES_USER"], srv["POSTGRES_USER"])
	assert.Equal(t, pg["POSTGRES_PASSWORD"], srv["POSTGRES_PWD"])
	assert.Equal(t, "0.0.0.0", srv["BIND_ON_IP"], "other containers reach the frontend")

	schema := f.Services["temporal-schema"]
	assert.Equal(t, pg["POSTGRES_USER"], env(t, schema)["POSTGRES_USER"])
	assert.Equal(t, pg["POSTGRES_PASSWORD"], env(t, schema)["SQL_PASSWORD"])
	sh := script(t, schema)
	for _, want := range []string{"--plugin postgres12 --ep postgres -p 5432", "temporal:temporal", "temporal_visibility:visibility", `"$@" create`, `"$@" setup-schema -v 0.0`, "/etc/temporal/schema/postgresql/v12/$schema/versioned"} {
		assert.Contains(t, sh, want)
	}
	// Server and tools come from the same release.
	assert.Equal(t, tagOf(f.Services["temporal"].Image), tagOf(schema.Image))
	assert.Equal(t, tagOf(f.Services["temporal"].Image), tagOf(f.Services["temporal-setup"].Image))

	cfgs := f.Services["temporal"].Configs
	require.Len(t, cfgs, 1)
	assert.Equal(t, srv["DYNAMIC_CONFIG_FILE_PATH"], cfgs[0].Target)
	content := f.Configs[cfgs[0].Source].Content
	require.NotEmpty(t, content, "config %s", cfgs[0].Source)
	var dc map[string][]struct {
		Value any `yaml:"value"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(content), &dc), "dynamic config")
	eager := dc["system.enableActivityEagerExecution"]
	require.Len(t, eager, 1, "eager activity execution is set")
	assert.Equal(t, true, eager[0].Value, "activities scheduled by a workflow task come back with its completion")

	assert.Contains(t, f.Services["postgres"].Volumes, "postgres-data:/var/lib/postgresql/data")
	assert.Contains(t, f.Volumes, "postgres-data")
}

func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	require.NoError(t, err)
	text := string(raw)
	var from []string
	for _, line := range strings.Split(text, "\n") {
		if fields := strings.Fields(line); len(fields) >= 2 && strings.EqualFold(fields[0], "FROM") {
			from = append(from, fields[1])
		}
	}
	require.GreaterOrEqual(t, len(from), 2, "a build stage and a runtime stage")
	for _, image := range from {
		tag := tagOf(image)
		assert.NotEmpty(t, tag, "%s has no tag", image)
		assert.NotEqual(t, "latest", tag, image)
	}

	// The Go of the build stage is the one go.mod asks for.
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	require.NoError(t, err)
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(string(mod))
	require.NotNil(t, goVersion, "go directive of go.mod")
	golang := slices.IndexFunc(from, func(image string) bool { return strings.HasPrefix(image, "golang:") })
	require.GreaterOrEqual(t, golang, 0, "a golang build stage")
	assert.True(t, strings.HasPrefix(from[golang], "golang:"+goVersion[1]+"-"), "build stage %s, go.mod says go %s", from[golang], goVersion[1])
	assert.Less(t, golang, len(from)-1, "the runtime stage is not the build stage")

	assert.Contains(t, text, "CGO_ENABLED=0 go build -trimpath")
	assert.Contains(t, text, "./cmd/countersign")
	assert.Contains(t, text, `ENTRYPOINT ["/usr/local/bin/countersign"]`)
	// Package web embeds lucide's icons, installed at build time.
	assert.Contains(t, text, "COPY --from=icons /web/node_modules/lucide-static/icons/ web/static/icons/")
	modules := strings.Index(text, "COPY go.mod go.sum ./")
	sources := strings.Index(text, "COPY . .")
	require.True(t, modules >= 0 && sources >= 0)
	assert.Less(t, modules, strings.Index(text, "go mod download"), "modules are downloaded from go.mod and go.sum alone")
	assert.Less(t, strings.Index(text, "go mod download"), sources, "modules are downloaded before the sources come in")

	// The runtime stage runs as an unprivileged user and carries no secret.
	runtime := text[strings.LastIndex(text, "\nFROM "):]
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)`).FindStringSubmatch(runtime)
	require.NotNil(t, user, "the runtime stage sets USER")
	assert.NotContains(t, []string{"root", "0", "0:0"}, user[1])
	assert.NotRegexp(t, `(?m)^(ENV|ARG)\s+\S*(PASSWORD|TOKEN|SECRET|DATABASE_URL)`, text)
}

func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	require.NoError(t, err)
	lines := strings.Split(string(raw), "\n")
	for _, want := range []string{".git", "bin/", ".data/", "artifacts/", "**/node_modules", "**/*.test"} {
		assert.True(t, slices.Contains(lines, want), ".dockerignore lacks %s", want)
	}
}

// tagOf is the tag of an image reference, "" without one.
func tagOf(image string) string {
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		return image[i+1:]
	}
	return ""
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
