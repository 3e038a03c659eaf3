# tpsim: a Mojaloop Third Party API simulator in one process.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY fixtures ./fixtures
RUN pip install --no-cache-dir . && useradd --create-home tpsim
USER tpsim

# Publish it on loopback (docker run -p 127.0.0.1:4040:4040). Listening on 0.0.0.0 in the
# container, tpsim requires an admin token on /admin/: TPSIM_ADMIN_TOKEN, or the one it
# generates and prints at start. /health (the HEALTHCHECK below) needs none.
EXPOSE 4040
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4040/health')"
ENTRYPOINT ["tpsim"]
CMD ["serve", "--host", "0.0.0.0", "--port", "4040"]
