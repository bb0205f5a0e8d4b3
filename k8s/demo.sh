#!/usr/bin/env bash
# The Kubernetes demo on kind:  k8s/demo.sh up   (make k8s-demo)   and   k8s/demo.sh down   (make k8s-down)
#
# up: create the kind cluster (k8s/kind.yaml), build both images and load them into it, install the ingress
# controller, apply the dev overlay, wait for the migration Job and the rollouts, run the contract suite
# against both apps (--stack url, through port-forwards), check both through the ingress, print the URLs.
# Needs Docker, kind and kubectl; run `make install` first for the suite (make k8s-demo does).
set -euo pipefail
cd "$(dirname "$0")/.."

CLUSTER=${KIND_CLUSTER_NAME:-shop}
NAMESPACE=shop
INGRESS_PORT=8080  # k8s/kind.yaml publishes the ingress controller's port 80 here
# ingress-nginx's manifest for kind, pinned to a release
INGRESS_NGINX_MANIFEST=${INGRESS_NGINX_MANIFEST:-https://raw.githubusercontent.com/kubernetes/ingress-nginx/controller-v1.12.1/deploy/static/provider/kind/deploy.yaml}
ADMIN_EMAIL=admin@shop.example           # the dev overlay's settings and development-only Secrets
ADMIN_PASSWORD=admin-dev-password
DATABASE_PASSWORD=shop-dev-password
CORS_ORIGIN=http://localhost:3000
PYTEST=${PYTEST:-.venv/bin/pytest}

log() { printf '\n== %s\n' "$*"; }
die() { printf 'k8s/demo.sh: %s\n' "$*" >&2; exit 1; }

require() {
  local missing=()
  command -v docker >/dev/null || missing+=("docker (https://docs.docker.com/get-docker/)")
  command -v kind >/dev/null || missing+=("kind (https://kind.sigs.k8s.io/docs/user/quick-start/#installation)")
  command -v kubectl >/dev/null || missing+=("kubectl (https://kubernetes.io/docs/tasks/tools/)")
  if [ ${#missing[@]} -gt 0 ]; then
    printf 'k8s/demo.sh needs these tools; install them and run it again:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
  docker info >/dev/null 2>&1 || die "Docker is installed but its engine does not answer: start Docker first"
}

k() { kubectl --context "kind-$CLUSTER" "$@"; }

up() {
  require
  [ -x "$PYTEST" ] || die "the contract suite is not installed: run 'make install' (or use 'make k8s-demo')"

  if kind get clusters 2>/dev/null | grep -qx "$CLUSTER"; then
    log "using the existing kind cluster '$CLUSTER'"
  else
    log "creating the kind cluster '$CLUSTER'"
    kind create cluster --name "$CLUSTER" --config k8s/kind.yaml --wait 120s
  fi

  log "building the images and loading them into the cluster"
  docker build --target fastapi --tag shop-fastapi:dev .
  docker build --target flask --tag shop-flask:dev .
  kind load docker-image --name "$CLUSTER" shop-fastapi:dev shop-flask:dev

  log "installing the ingress controller (ingress-nginx)"
  k apply -f "$INGRESS_NGINX_MANIFEST"
  k -n ingress-nginx rollout status deployment/ingress-nginx-controller --timeout=300s

  log "applying k8s/overlays/dev"
  # A Job's pod template is immutable: delete the last migration Job so this apply creates a fresh one
  # (with the new image, if it changed). The old app pods keep serving meanwhile; new ones become ready
  # only once the new Job has migrated (/readyz checks the schema revision).
  k -n "$NAMESPACE" delete job shop-migrate --ignore-not-found --wait
  k apply -k k8s/overlays/dev

  log "waiting for PostgreSQL, the migration Job and the rollouts"
  k -n "$NAMESPACE" rollout status statefulset/postgres --timeout=300s
  k -n "$NAMESPACE" wait --for=condition=complete job/shop-migrate --timeout=300s
  k -n "$NAMESPACE" rollout status deployment/shop-fastapi --timeout=300s
  k -n "$NAMESPACE" rollout status deployment/shop-flask --timeout=300s
  k -n "$NAMESPACE" rollout status deployment/shop-flask-events --timeout=300s

  log "checking both apps through the ingress"
  for app in fastapi flask; do
    host="$app.shop.localhost"
    # --resolve: no DNS needed for *.localhost on this machine
    curl --fail --silent --show-error --retry 10 --retry-delay 3 --retry-all-errors \
      --resolve "$host:$INGRESS_PORT:127.0.0.1" "http://$host:$INGRESS_PORT/readyz"
    echo "  <- $host"
  done

  log "running the contract suite against both apps (--stack url, through port-forwards)"
  local forwards=()
  trap 'kill "${forwards[@]}" 2>/dev/null || true' EXIT
  k -n "$NAMESPACE" port-forward svc/shop-fastapi 18000:80 >/dev/null & forwards+=($!)
  k -n "$NAMESPACE" port-forward svc/shop-flask 18001:80 >/dev/null & forwards+=($!)
  k -n "$NAMESPACE" port-forward svc/postgres 15432:5432 >/dev/null & forwards+=($!)
  for port in 18000 18001; do
    curl --fail --silent --retry 20 --retry-delay 1 --retry-all-errors "http://127.0.0.1:$port/readyz" >/dev/null
  done
  SHOP_ADMIN_EMAIL=$ADMIN_EMAIL SHOP_ADMIN_PASSWORD=$ADMIN_PASSWORD SHOP_TEST_CORS_ORIGIN=$CORS_ORIGIN \
    SHOP_TEST_DATABASE_URL="postgresql://shop:$DATABASE_PASSWORD@127.0.0.1:15432/shop" \
    "$PYTEST" contract_tests --stack url --fastapi-url http://127.0.0.1:18000 --flask-url http://127.0.0.1:18001

  log "the shop is running on kind"
  cat <<DONE
  FastAPI docs:  http://fastapi.shop.localhost:$INGRESS_PORT/docs
  Flask docs:    http://flask.shop.localhost:$INGRESS_PORT/docs
  (browsers resolve *.localhost to 127.0.0.1; for curl add --resolve fastapi.shop.localhost:$INGRESS_PORT:127.0.0.1)
  Admin: $ADMIN_EMAIL / $ADMIN_PASSWORD (development only)
  Look around:   kubectl --context kind-$CLUSTER -n $NAMESPACE get all,ingress,networkpolicy,pdb
  Remove it:     make k8s-down
DONE
}

down() {
  command -v kind >/dev/null || die "kind is not installed, so there is no kind cluster to delete"
  kind delete cluster --name "$CLUSTER"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) die "usage: k8s/demo.sh up|down" ;;
esac
