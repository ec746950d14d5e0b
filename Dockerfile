# syntax=docker/dockerfile:1
# dyserve container image: compile with the official Swift image for Debian 12, run on slim Debian 12.
#   docker build -t dyserve:dev .
#   docker run --rm -p 8080:8080 dyserve:dev
# Both stages install their system packages through scripts/install-deps.sh, the same script the README
# and CI use, so the image and a developer's machine cannot drift apart. See docs/deploy.md.

ARG SWIFT_IMAGE=swift:6.3.1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
# Dependencies first: this layer survives edits to the sources.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
# SwiftPM validates every target's folder when it loads the manifest, so the test folders come too.
COPY Package.swift ./
COPY Sources Sources
COPY Tests Tests
# --static-swift-stdlib: the Swift runtime and Foundation go into the binary, so the runtime stage
# needs only Debian packages (checked against `ldd` by scripts/check-deploy.sh).
RUN swift build -c release --product dyserve --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/dyserve" /out/dyserve

FROM ${RUNTIME_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY scripts/install-deps.sh /tmp/install-deps.sh
RUN bash /tmp/install-deps.sh --runtime \
    && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh \
    && groupadd --system --gid 10001 dyserve \
    && useradd --system --uid 10001 --gid dyserve --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin dyserve
WORKDIR /opt/dyserve
# Owned by root and not writable by the service user: the service only reads them.
COPY --from=build /out/dyserve /usr/local/bin/dyserve
COPY models models
COPY config/dyserve.yaml config/dyserve.yaml
# The shipped config binds 127.0.0.1 for a developer's machine; in a container the service must
# listen on every interface. Environment beats the file, so a mounted config still applies otherwise.
ENV DYSERVE_CONFIG=/opt/dyserve/config/dyserve.yaml \
    DYSERVE_HOST=0.0.0.0 \
    DYSERVE_PORT=8080
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
# Probe the live endpoint with bash's /dev/tcp, which the slim base already has: no curl (and its
# TLS and HTTP/2 libraries) in the image just for a health check. Kubernetes ignores HEALTHCHECK and
# uses the Deployment's probes; this is for plain docker and compose.
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${DYSERVE_PORT:-8080} && printf 'GET /v2/health/live HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n' >&3 && IFS= read -r -t 2 status <&3 && [[ $status == *' 200 '* ]]"]
ENTRYPOINT ["/usr/local/bin/dyserve", "serve"]
