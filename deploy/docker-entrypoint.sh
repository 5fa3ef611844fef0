#!/bin/sh
# The container's entry point (run under tini, so Celery's children are reaped and signals reach them).
#   docker-entrypoint.sh serve|worker|studies|... [ARGS]   run a spinenode command
#   docker-entrypoint.sh healthcheck                        exit 0 when the web app answers /health
# Before a command it checks that the data folder exists and is writable by this user, and says what to do
# in one line when not (a volume created by root is the usual cause).
set -eu
data_dir="${SPINENODE_NODE__DATA_DIR:-/var/lib/spinenode}"
if [ "${1:-}" = "healthcheck" ]; then
  port="${SPINENODE_WEB__PORT:-8080}"
  exec python3 -c "import sys, urllib.request
try:
    sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:$port/health', timeout=5).status == 200 else 1)
except Exception as exc:
    print(f'health check failed: {exc}', file=sys.stderr); sys.exit(1)"
fi
case "${1:-}" in
  serve|worker)
    if [ ! -d "$data_dir" ]; then
      echo "spinenode: data folder $data_dir does not exist; mount a volume there (or set SPINENODE_NODE__DATA_DIR)" >&2
      exit 1
    fi
    if [ ! -w "$data_dir" ]; then
      echo "spinenode: data folder $data_dir is not writable by uid $(id -u); chown it to $(id -u):$(id -g) (a volume created by root?)" >&2
      exit 1
    fi
    ;;
esac
exec spinenode "$@"
