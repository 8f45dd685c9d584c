# The intake assistant in one image: action server + Rasa server + website (scripts/serve.py).
# Build:  docker build -t iop-assistant .
# Run behind the reverse proxy (deploy/haproxy.cfg), the one public entry; publish the ports
# on the host's loopback only, for the proxy:
#   docker run --env-file .env -v iop-var:/app/var \
#     -p 127.0.0.1:5005:5005 -p 127.0.0.1:8000:8000 iop-assistant
#
# Three stages: the widget's socket.io client from npm; a build stage with the compiler,
# the locked dependencies and the trained model; and the runtime image, which has no
# compiler and no package manager run, and whose code, virtualenv and model belong to root:
# the runtime user `rasa` can write only /app/var (databases, logs; mount a volume there).
ARG PYTHON_IMAGE=python:3.10-slim

FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/build.js ./
RUN npm ci --ignore-scripts --no-audit --no-fund && node build.js

FROM ${PYTHON_IMAGE} AS build
ENV PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    TF_ENABLE_ONEDNN_OPTS=0 \
    TF_DETERMINISTIC_OPS=1
# (The last two: the same model as `make` trains from the same data, see README.)
# The compiler is for dependencies without a wheel; it stays in this stage.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.txt constraints.txt ./
# The same path as at run time: a virtualenv's scripts name their interpreter by path.
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install --upgrade 'pip==26.*' \
    && /app/.venv/bin/pip install -r requirements.txt -c constraints.txt \
    && /app/.venv/bin/pip check
COPY . .
# Train here, so the container serves at once and the runtime needs no training cache.
RUN /app/.venv/bin/rasa train --fixed-model-name latest --out models

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    RASA_HOST=0.0.0.0 \
    PATH=/app/.venv/bin:$PATH
RUN useradd --create-home --uid 1001 rasa
WORKDIR /app
# Everything below is root's and read-only to `rasa` (COPY without --chown).
COPY --from=build /app/.venv /app/.venv
COPY --from=build /app/models /app/models
COPY . .
COPY --from=web /web/static/vendor/ web/static/vendor/
# The only place the runtime writes: SQLite files, logs, the local mail and text stand-ins.
RUN mkdir -p var && chown rasa:rasa var && chmod 0700 var
USER rasa
VOLUME ["/app/var"]
# 5005: Rasa (the widget's socket.io; the public proxy passes only /socket.io/ to it).
# Not exposed: 8000, the website, calendar links and coordinator console (publish it on
# loopback for the proxy, as above); the action server (127.0.0.1:5055, only Rasa calls it,
# with ACTION_SERVER_TOKEN); the sandbox clearinghouse and the mail and text stand-ins,
# which run only when their real services are not configured. APP_ENV unset is production.
EXPOSE 5005
# RASA_AUTH_TOKEN, ACTION_SERVER_TOKEN and PHI_ENCRYPTION_KEY come from the environment
# (--env-file .env); no secret is baked in.
CMD ["python", "scripts/serve.py"]
