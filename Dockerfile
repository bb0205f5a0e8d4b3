# One Dockerfile, one target per app:
#   docker build --target fastapi -t shop-fastapi .
#   docker build --target flask   -t shop-flask .
# Classic-builder compatible (no RUN --mount), so testcontainers can build it through the Engine API.

# --- build: a virtualenv with one app's dependencies, installed from the pins, without pip itself ------------
FROM python:3.11-slim-bookworm AS build-base
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
# the requirements of the project plus the extras named, read from pyproject.toml, each pinned by constraints.txt
RUN printf '%s\n' \
      'import sys, tomllib' \
      'project = tomllib.load(open("pyproject.toml", "rb"))["project"]' \
      'extras = [r for extra in sys.argv[1:] for r in project["optional-dependencies"][extra]]' \
      'print("\n".join(project["dependencies"] + extras))' \
      > requirements.py \
 && python -m venv /opt/venv

FROM build-base AS build-fastapi
RUN python requirements.py fastapi otel > requirements.txt \
 && /opt/venv/bin/pip install --constraint constraints.txt --requirement requirements.txt \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

FROM build-base AS build-flask
RUN python requirements.py flask otel > requirements.txt \
 && /opt/venv/bin/pip install --constraint constraints.txt --requirement requirements.txt \
 && /opt/venv/bin/pip uninstall --yes --quiet pip setuptools

# --- runtime: no compilers, no caches, a non-root user, the app code read-only -------------------------------
FROM python:3.11-slim-bookworm AS runtime
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 shop \
 && useradd --system --uid 10001 --gid shop --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin shop
WORKDIR /app
COPY shared ./shared
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]

FROM runtime AS fastapi
COPY --from=build-fastapi /opt/venv /opt/venv
COPY fastapi_shop ./fastapi_shop
USER shop
# exec form: uvicorn is PID 1 and gets SIGTERM itself; it stops accepting, finishes in-flight requests, exits
CMD ["uvicorn", "--factory", "fastapi_shop.main:create_app", "--http", "fastapi_shop.server:HttpToolsProtocol", \
     "--ws", "fastapi_shop.server:WebSocketProtocol", "--host", "0.0.0.0", "--port", "8000", "--no-access-log", "--timeout-graceful-shutdown", "20"]

FROM runtime AS flask
COPY --from=build-flask /opt/venv /opt/venv
COPY flask_shop ./flask_shop
USER shop
# exec form: gunicorn is PID 1; on SIGTERM it lets workers finish for graceful_timeout (gunicorn.conf.py)
CMD ["gunicorn", "-c", "flask_shop/gunicorn.conf.py", "flask_shop:create_app()"]
