# The intake assistant in one image: action server + Rasa server (scripts/serve.py).
# Build:  docker build -t iop-assistant .
# Run:    docker run --env-file .env -p 5005:5005 iop-assistant
# The widget's only library (socket.io client) is vendored from npm in a build stage, so
# the website process finds web/static/vendor/socket.io.min.js as with `make web`.
FROM node:20-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json web/build.js ./
RUN npm ci --ignore-scripts --no-audit --no-fund && node build.js

FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    RASA_TELEMETRY_ENABLED=false \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    TF_CPP_MIN_LOG_LEVEL=2

RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1001 rasa

WORKDIR /app
COPY requirements.txt constraints.txt ./
RUN python -m venv /app/.venv \
    && /app/.venv/bin/pip install --upgrade 'pip==26.*' \
    && /app/.venv/bin/pip install -r requirements.txt -c constraints.txt \
    && /app/.venv/bin/pip check

COPY --chown=rasa:rasa . .
COPY --from=web --chown=rasa:rasa /web/static/vendor/ web/static/vendor/
USER rasa
# Train at build time so the container starts serving at once.
RUN /app/.venv/bin/rasa train --fixed-model-name latest --out models \
    && mkdir -p var

ENV PATH=/app/.venv/bin:$PATH
# 8000: the demo website (also serves the .ics links); the sandbox clearinghouse (8089)
# runs inside the container unless CLEARINGHOUSE_URL points at the real API.
EXPOSE 5005 5055 8000
# RASA_AUTH_TOKEN must come from the environment (--env-file .env); it is never baked in.
CMD ["python", "scripts/serve.py"]
