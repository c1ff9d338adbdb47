# syntax=docker/dockerfile:1
# Startpunkt container image: `docker build -t startpunkt .`
# The final stage has no compilers or build tools, runs as UID 10001 and writes nothing
# outside /tmp, so it runs with a read-only root filesystem (see deploy/base/deployment.yaml).

FROM python:3.11-slim AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# Installs Startpunkt and its dependencies under /install, byte-compiled at install time, so
# the read-only image never needs to write .pyc files.
RUN pip install --prefix=/install --no-warn-script-location .

FROM python:3.11-slim
ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="Startpunkt" \
      org.opencontainers.image.description="A Kubernetes-native start page that updates in real time" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HOME=/tmp \
    TMPDIR=/tmp
RUN groupadd --system --gid 10001 startpunkt \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin startpunkt
COPY --from=builder /install /usr/local
# The default configuration; Kubernetes mounts the ConfigMap startpunkt-config over it. Without
# --config, `serve` reads /work/config/application.yaml first when it exists: where the
# original's Deployment mounted its ConfigMap, so such a Deployment works with this image.
COPY deploy/base/startpunkt.yaml /etc/startpunkt/startpunkt.yaml
USER 10001:10001
WORKDIR /tmp
EXPOSE 8080
ENTRYPOINT ["startpunkt"]
# listen on every interface (the command line's default is 127.0.0.1, unreachable from outside)
CMD ["serve", "--host", "0.0.0.0"]
