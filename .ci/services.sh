#!/usr/bin/env bash
# Everything outside Python that the tests use, installed when missing and started; prints the
# PostgreSQL URL line last (from postgres.sh), so:  export "$(bash .ci/services.sh | tail -n 1)"
#   - Java 17 for the Spark tests (part of the machine image; installed if missing)
#   - Debian's chromium for the browser tests, driven by Playwright (never `playwright install`)
#   - a PostgreSQL server as user postgres on 127.0.0.1 for the store tests
set -euo pipefail
cd "$(dirname "$0")"
missing=()
if ! command -v java >/dev/null && [ -z "${JAVA_HOME:-}" ]; then missing+=(openjdk-17-jre-headless); fi
if [ ! -x /usr/bin/chromium ]; then missing+=(chromium); fi
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
bash postgres.sh
