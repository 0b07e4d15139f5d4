# syntax=docker/dockerfile:1
# Build stage: the bot and its dependencies, installed from a wheel into a virtual
# environment (the wheel carries the templates and the seed digest).
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY templates ./templates
COPY seeds ./seeds
RUN pip install --no-compile .

# Run stage: the virtual environment alone, as an unprivileged user; state in /data.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 storybrief \
    && mkdir /data && chown storybrief /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    BOT_DATABASE_URL=sqlite+aiosqlite:////data/story-brief.sqlite3 \
    BOT_LISTEN=0.0.0.0 BOT_PORT=8443
WORKDIR /data
USER 10001
VOLUME ["/data"]
EXPOSE 8443
# In webhook mode the bot serves /healthz (200 when the digest is loaded and the database
# answers); in polling mode there is no port to ask, so the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request as r; sys.exit(0) if os.environ.get('BOT_MODE', 'polling') != 'webhook' else r.urlopen(f\"http://127.0.0.1:{os.environ.get('BOT_PORT', '8443')}/healthz\", timeout=4)"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
