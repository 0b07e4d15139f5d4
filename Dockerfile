# syntax=docker/dockerfile:1
# Build stage: install the bot and its dependencies into a virtual environment.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bot ./bot
# Dependencies only: the bot itself runs from /app, beside its templates and seeds.
RUN pip install --no-compile . && pip uninstall --yes story-brief

# Run stage: the virtual environment, the templates and the seeds; nothing else.
FROM python:3.11-slim
RUN useradd --create-home --uid 10001 storybrief \
    && mkdir /data && chown storybrief /data
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY templates ./templates
COPY seeds ./seeds
COPY bot ./bot
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \
    BOT_DATABASE_URL=sqlite+aiosqlite:////data/story-brief.sqlite3
USER 10001
VOLUME ["/data"]
ENTRYPOINT ["python", "-m", "bot"]
CMD ["run"]
