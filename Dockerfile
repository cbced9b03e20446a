# syntax=docker/dockerfile:1

# Countersign's one binary. docker-compose.yml runs this image as each of
# its services: api, worker, migrate and awx-sim.

# The portal's icons: lucide's SVGs, embedded by package web (web/web.go),
# installed from web/package-lock.json as a local build does. The image
# needs none of the test tools (eslint): --omit=dev.
FROM node:24-bookworm-slim AS icons
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --ignore-scripts --omit=dev --no-audit --no-fund

FROM golang:1.26-bookworm AS build
WORKDIR /src
# Modules first, so that this layer is rebuilt only when go.mod or go.sum
# change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify
COPY . .
COPY --from=icons /web/node_modules/lucide-static/icons/ web/static/icons/
COPY --from=icons /web/node_modules/lucide-static/LICENSE web/static/icons/LICENSE
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" \
    -o /out/countersign ./cmd/countersign

# Debian slim rather than distroless: the healthchecks of docker-compose.yml
# call the HTTP endpoints with curl, and distroless has neither a shell nor
# an HTTP client. The binary is static; ca-certificates is for an AWX or a
# Temporal reached over TLS.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 countersign \
    && useradd --system --uid 10001 --gid countersign \
        --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin countersign \
    && install -d -m 0700 -o countersign -g countersign /var/lib/countersign/keys
# /var/lib/countersign/keys holds the payload key file (docker-compose.yml
# mounts a volume there, which takes this directory's owner and mode).
COPY --from=build /out/countersign /usr/local/bin/countersign
USER 10001:10001
# The API (HTTP_ADDR) and the AWX simulator (AWX_SIM_ADDR) listen on
# 127.0.0.1 unless told otherwise; in a container, set them to 0.0.0.0:PORT.
EXPOSE 8080 8052
# No configuration is baked in: DATABASE_URL, AWX_TOKEN and the rest come
# from the environment at run time (README, "Running").
ENTRYPOINT ["/usr/local/bin/countersign"]
CMD ["help"]
