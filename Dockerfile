# One image for the five services, the gateway and the test processor; docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORTAL_VAR_DIR=/app/var

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so code changes reuse this layer.
COPY pyproject.toml README.md ./
RUN python -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY contracts ./contracts
COPY servicekit ./servicekit
COPY services ./services
COPY gateway ./gateway
COPY testprocessor ./testprocessor
COPY config ./config
RUN pip install --no-deps . \
    && useradd --system --home-dir /app --shell /usr/sbin/nologin portal \
    && mkdir -p /app/var \
    && chown portal /app/var

USER portal
EXPOSE 8000
ENV GATEWAY_HOST=0.0.0.0 GATEWAY_PORT=8000
CMD ["python", "-m", "gateway"]
