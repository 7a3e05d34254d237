# doingoai: the bot, the web workspace and the scheduler in one process.
#   docker build -t doingoai .
#   docker run -p 8080:8080 -v doingoai-data:/data --env-file .env doingoai
# Migrations run at start. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DOINGOAI_DATA_DIR=/data \
    DOINGOAI_LISTEN_HOST=0.0.0.0 \
    DOINGOAI_LISTEN_PORT=8080

RUN useradd --create-home --uid 10001 doingoai && mkdir /data && chown doingoai /data
WORKDIR /app

# Locked dependencies first (a layer that changes only when the lock does).
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock

COPY pyproject.toml README.md ./
COPY bot ./bot
COPY domain ./domain
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY storage ./storage
COPY templates ./templates
COPY config ./config
RUN pip install --no-cache-dir --no-deps .

USER doingoai
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"
CMD ["doingoai", "run"]
