FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY . .
RUN pip install --no-cache-dir .
EXPOSE 8000
# One process per core (gunicorn reads WEB_CONCURRENCY), threads to overlap the waits on PostgreSQL and Redis and
# to keep connections alive; the default (one synchronous worker) served one request at a time.
ENV WEB_CONCURRENCY=2
CMD ["gunicorn", "marketplace.wsgi", "--bind", "0.0.0.0:8000", "--worker-class", "gthread", "--threads", "4", "--config", "python:marketplace.gunicorn_metrics"]
