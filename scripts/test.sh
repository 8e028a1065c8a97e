#!/usr/bin/env bash
# Every test Berth has: lint, typecheck, unit, root integration (real namespaces, cgroups,
# mounts and containers) and browser e2e (Playwright + Debian's Chromium). Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1 TURBO_TELEMETRY_DISABLED=1 PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
bash scripts/setup.sh --test

step() { printf '\n\033[1;35m== %s ==\033[0m\n' "$*"; }

step "format"
npx prettier --check . --log-level warn
step "lint, typecheck, unit tests"
npx eslint scripts bench
npx tsc -p tsconfig.json
npx vitest run --config vitest.config.ts
npx turbo run lint typecheck test --output-logs=errors-only --concurrency=2
step "build"
npx turbo run build --output-logs=errors-only
step "root integration tests"
if [[ $(id -u) -ne 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "integration tests need root in CI" >&2; exit 1; fi
  echo "SKIPPED: root integration tests need root (run npm test as root to include them)"
else
  npx turbo run test:integration --concurrency=1 --output-logs=full
fi
step "browser tests (Playwright + Chromium)"
if [[ $(id -u) -ne 0 ]]; then
  if [[ "${CI:-}" == "true" ]]; then echo "browser tests run a real agent and need root in CI" >&2; exit 1; fi
  echo "SKIPPED: browser tests run a real agent and need root"
else
  npm run e2e -w @berth/web
fi
step "all tests passed"
