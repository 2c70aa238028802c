#!/usr/bin/env bash
# The browser tests (test/*.browser.e2e-spec.ts) drive Debian's Chromium through playwright-core,
# which never downloads a browser of its own. Run before the tests (`npm test` and
# `npm run test:e2e` call it, as does .ci/run): installs Chromium when it is missing and this
# user may (root with apt-get). Otherwise it says how, and fails only in CI: elsewhere the other
# tests still run, and the browser test fails with the same hint.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Debian's Chromium for the browser tests" >&2
  DEBIAN_FRONTEND=noninteractive apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
  if [ -x "$CHROMIUM" ]; then
    exit 0
  fi
  echo "apt-get installed chromium, but not as $CHROMIUM" >&2
  exit 1
fi
echo "The browser tests need $CHROMIUM: install it with 'sudo apt-get install -y chromium'" >&2
if [ -n "${CI:-}" ]; then
  exit 1
fi
