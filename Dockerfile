# The intake assistant in one image: action server + Rasa server (scripts/serve.py).
# Build:  docker build -t iop-assistant .
# Run:    docker run --env-file .env -p 5005:5005 iop-assistant
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
USER rasa
# Train at build time so the container starts serving at once.
RUN /app/.venv/bin/rasa train --fixed-model-name latest --out models \
    && mkdir -p var

ENV PATH=/app/.venv/bin:$PATH
EXPOSE 5005 5055
# RASA_AUTH_TOKEN must come from the environment (--env-file .env); it is never baked in.
CMD ["python", "scripts/serve.py"]
