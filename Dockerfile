# syntax=docker/dockerfile:1.7
#
# One Dockerfile, one image per service:
#   docker build --build-arg SERVICE=claims --build-arg HTTP_PORT=8002 -t rcm-claims .
#
# Why a build arg and not "whole workspace once, pick the service by command": each image then carries only
# its own service's code and dependency closure (`uv sync --package rcm-<svc>`), so a compromise or a CVE in
# one service's dependencies (e.g. asyncssh in claims) does not ship in the others, images stay smaller, and
# each service rolls out on its own tag. The cost, five builds instead of one, is paid by the build cache:
# the dependency layer below is shared by every service whose lock closure is the same.

ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<service directory name>" >&2; exit 1)

RUN pip install --no-cache-dir "uv==0.13.9"
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /app

# Dependencies first (cached until uv.lock changes): uv needs every workspace member's pyproject.toml to
# resolve the workspace, but none of their sources.
COPY pyproject.toml uv.lock ./
COPY libs/shared/pyproject.toml libs/shared/pyproject.toml
COPY libs/issuer/pyproject.toml libs/issuer/pyproject.toml
COPY cli/pyproject.toml cli/pyproject.toml
COPY services/eligibility/pyproject.toml services/eligibility/pyproject.toml
COPY services/claims/pyproject.toml services/claims/pyproject.toml
COPY services/remittance/pyproject.toml services/remittance/pyproject.toml
COPY services/patient-billing/pyproject.toml services/patient-billing/pyproject.toml
COPY services/authorizations/pyproject.toml services/authorizations/pyproject.toml
COPY services/webhooks/pyproject.toml services/webhooks/pyproject.toml
COPY services/reporting/pyproject.toml services/reporting/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-workspace --package "rcm-${SERVICE}"

# Then the kernel and this service only. The install stays editable on purpose: services find their Alembic
# migrations next to their sources (services/<svc>/migrations), not inside site-packages.
COPY libs/shared libs/shared
COPY services/${SERVICE} services/${SERVICE}
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --package "rcm-${SERVICE}" \
    && rm -rf "services/${SERVICE}/tests" libs/shared/tests

# ---------------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG HTTP_PORT
RUN test -n "${HTTP_PORT}" || (echo "build with --build-arg HTTP_PORT=<the service's port>" >&2; exit 1)

RUN groupadd --system --gid 10001 rcm \
    && useradd --system --uid 10001 --gid rcm --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin rcm \
    && install -d -o 10001 -g 10001 /var/lib/rcm

WORKDIR /app
# Same paths as in the builder: the venv's editable .pth files point at /app/libs and /app/services.
COPY --from=builder /app/.venv /app/.venv
COPY --from=builder /app/libs/shared /app/libs/shared
COPY --from=builder /app/services/${SERVICE} /app/services/${SERVICE}

ENV PATH="/app/.venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE=${SERVICE} \
    RCM_ENVIRONMENT=container \
    RCM_HTTP_HOST=0.0.0.0 \
    RCM_HTTP_PORT=${HTTP_PORT}

USER 10001:10001
# The one writable place (a volume in compose, an emptyDir in Kubernetes), e.g. claims' clearinghouse folder.
VOLUME ["/var/lib/rcm"]
EXPOSE ${HTTP_PORT}

# slim has no curl: ask /healthz with the interpreter that is already there.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['RCM_HTTP_PORT'] + '/healthz', timeout=4)"]

# `exec` keeps rcm-<service> as PID 1 so SIGTERM reaches uvicorn; arguments pick the command (serve | migrate).
ENTRYPOINT ["/bin/sh", "-c", "exec \"rcm-${SERVICE}\" \"$@\"", "rcm-service"]
CMD ["serve"]
