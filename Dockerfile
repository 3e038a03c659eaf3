# tpsim: a payment-initiation simulator (Mojaloop Third Party API, XS2A, UK Open Banking,
# STET) in one process.
# The base image is pinned to an exact Python release; pin its digest too
# (python:3.12.8-slim-bookworm@sha256:…) where your registry policy asks for one.
FROM python:3.12.8-slim-bookworm

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY fixtures ./fixtures
# /reports is where `tpsim run` writes JUnit/JSON/HTML reports: owned by the user tpsim
# runs as, so a mounted volume (docker compose: ./reports) is writable.
RUN pip install --no-cache-dir . \
    && useradd --create-home tpsim \
    && mkdir -p /reports \
    && chown tpsim:tpsim /reports
USER tpsim
VOLUME ["/reports"]

# Publish it on loopback (docker run -p 127.0.0.1:4040:4040). Listening on 0.0.0.0 in the
# container, tpsim requires an admin token on /admin/: TPSIM_ADMIN_TOKEN, or the one it
# generates and prints at start. /health (the HEALTHCHECK below) needs none.
EXPOSE 4040
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4040/health')"
ENTRYPOINT ["tpsim"]
CMD ["serve", "--host", "0.0.0.0", "--port", "4040"]
