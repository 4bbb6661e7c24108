#!/usr/bin/env bash
# Installs the system tools the test-suite uses, through Debian's apt (the only package source
# besides npm that CI reaches). Idempotent: tools already present are not reinstalled.
#   promtool (package prometheus): lints the /metrics exposition.
#   protoc and Python's grpcio (protobuf-compiler, python3-grpcio, python3-protobuf): a third-party
#   gRPC client (test/e2e/tritonclient-grpc.test.ts).
#   podman with runc: runs the images berth builds (test/e2e/container.test.ts).
#   docker-registry (the CNCF distribution registry 2.8), apache2-utils for `htpasswd -B`, skopeo:
#   a real OCI registry to push to and pull from, with Basic or token auth, and a third-party
#   client to check what was pushed (test/helpers/registry.ts, test/e2e/registry.test.ts);
#   openssl makes the certificate the registry's token server signs with.
#   podman-compose and docker-compose: run and validate the compose.yaml `berth render compose`
#   writes (test/e2e/render.test.ts).
#   redis-server: the shared store of rate limits between processes (test/helpers/redis.ts,
#   src/access/redis-buckets.test.ts, test/e2e/rate-limit-redis.test.ts).
set -euo pipefail

need=()
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v protoc >/dev/null 2>&1 || need+=(protobuf-compiler)
/usr/bin/python3 -c 'import grpc' >/dev/null 2>&1 || need+=(python3-grpcio)
/usr/bin/python3 -c 'import google.protobuf' >/dev/null 2>&1 || need+=(python3-protobuf)
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /usr/bin/docker-registry ] || need+=(docker-registry)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v podman-compose >/dev/null 2>&1 || need+=(podman-compose)
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)

bash "$(dirname "$0")/apt-install.sh" test-deps ${need[@]+"${need[@]}"}
command -v promtool >/dev/null
command -v protoc >/dev/null
/usr/bin/python3 -c 'import grpc, google.protobuf'
command -v podman >/dev/null
command -v runc >/dev/null
test -x /usr/bin/docker-registry
command -v htpasswd >/dev/null
command -v skopeo >/dev/null
command -v openssl >/dev/null
command -v podman-compose >/dev/null
command -v docker-compose >/dev/null
command -v redis-server >/dev/null
