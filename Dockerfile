# SafetyHub in a container: a hub (or a station with `station:` in its config).
#   docker build -t safetyhub .
#   docker run -d --name safetyhub --restart unless-stopped -p 8123:8123 -v /srv/safetyhub:/config safetyhub
# The config folder (config.yaml, secrets.yaml, data/) is the volume; nothing else is kept.
FROM python:3.11-slim-bookworm

# ffmpeg: the camera restream and recordings (remux only, never transcode).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg tini \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub ./hub
COPY integrations ./integrations
COPY plugins ./plugins
COPY web ./web
COPY blueprints ./blueprints
RUN pip install --no-cache-dir . \
    && useradd --system --user-group --home-dir /config --shell /usr/sbin/nologin safetyhub \
    && mkdir -p /config \
    && chown safetyhub:safetyhub /config

USER safetyhub
WORKDIR /config
VOLUME ["/config"]
EXPOSE 8123
ENV PYTHONUNBUFFERED=1
# /api/health is public and answers "ok" only when the hub is running.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import json, sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8123/api/health', timeout=4); sys.exit(0 if json.load(r).get('status') == 'ok' else 1)"]
ENTRYPOINT ["tini", "--"]
CMD ["safetyhub", "run", "-c", "/config/config.yaml"]
