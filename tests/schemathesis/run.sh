#!/usr/bin/env bash
# schemathesis (PyPI) against the server's own OpenAPI document: a real server on a
# fresh SQLite file, attacked as a supplier, a couple, an operator and the platform, each
# on the operations its credential opens (public ones with the supplier's run). Zero 5xx
# and zero responses the document does not describe, or this fails. Bounded: a fixed seed
# and a few examples per operation, so CI stays within its time.
#
#   bash tests/schemathesis/run.sh [path/to/bouquet-server]
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-${CARGO_TARGET_DIR:-$HOME/.cache/bouquet-target}/debug/bouquet-server}"
st="${BOUQUET_SCHEMATHESIS:-$HOME/.cache/bouquet-venv/bin/st}"
examples="${BOUQUET_SCHEMATHESIS_EXAMPLES:-30}"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

db="sqlite://$work/bouquet.db"
key="$("$bin" api-key create --database-url "$db" --name wedsync 2>/dev/null)"
BOUQUET_ADMIN_PASSWORD="an operator's long password" "$bin" admin create --database-url "$db" --email ops@bouquet.example >/dev/null

# The attack is thousands of requests from one address: the rate limits (tested on their
# own, crates/server/tests/rate_limits.rs) are opened wide so every request is judged.
BOUQUET_RATE_LIMITS="landing=6000000/100000,sign_in=6000000/100000,events=6000000/100000,unsubscribe=6000000/100000" \
BOUQUET_SEED_CALENDAR=false BOUQUET_LOG=warn \
  "$bin" serve --database-url "$db" --bind 127.0.0.1:0 >"$work/stdout" 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
url="$(sed -n 's/.*listening on //p' "$work/stdout" | head -1)"
[ -n "$url" ] || { echo "the server did not start:"; cat "$work/server.log"; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
session() { # email password → device token
  curl -sf -X POST "$url/api/v1/sessions" -H 'content-type: application/json' \
    -d "{\"email\": \"$1\", \"password\": \"$2\"}" | json "['token']"
}
curl -sf -X POST "$url/api/v1/accounts" -H 'content-type: application/json' \
  -d '{"kind": "supplier", "email": "flo@example.com", "password": "correct horse battery", "business_name": "Petal & Stem", "vendor_type": "florist"}' >/dev/null
curl -sf -X POST "$url/api/v1/accounts" -H 'content-type: application/json' \
  -d '{"kind": "couple", "email": "amy@example.com", "password": "correct horse battery", "couple_names": "Amy & Ben"}' >/dev/null
supplier="$(session flo@example.com 'correct horse battery')"
couple="$(session amy@example.com 'correct horse battery')"
operator="$(session ops@bouquet.example "an operator's long password")"
# Something for the operations to find: a referral and a conversion through it.
code="$(curl -sf -X POST "$url/api/v1/referrals" -H "authorization: Bearer $supplier" -H 'content-type: application/json' -d '{"method": "qr"}' | json "['code']")"
curl -sf -X POST "$url/api/v1/events" -H "authorization: Bearer $key" -H 'content-type: application/json' \
  -d "{\"idempotency_key\": \"s1\", \"type\": \"signup\", \"occurred_at\": \"$(date -u +%Y-%m-%dT%H:%M:%SZ)\", \"user\": {\"id\": \"u1\", \"kind\": \"couple\"}, \"code\": \"$code\"}" >/dev/null

checks="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"
run() { # name token filter...
  local name="$1" token="$2"; shift 2
  echo "==> schemathesis as $name"
  "$st" run "$url/api/openapi.json" --checks "$checks" --max-examples "$examples" --seed 20261206 \
    --phases examples,coverage,fuzzing --workers 1 --no-color --suppress-health-check all \
    --request-timeout 30 -H "Authorization: Bearer $token" "$@"
}
# schemathesis keeps its example database in the working directory: the run's own.
cd "$work"
status=0
run supplier "$supplier" --exclude-path-regex '^/api/v1/(admin/|events|platform/)' || status=1
run couple "$couple" --include-path-regex '^/api/v1/(me/|recommendations|campaigns|leaderboards|referrals)' || status=1
run operator "$operator" --include-path-regex '^/api/v1/admin/' || status=1
run platform "$key" --include-path-regex '^/api/v1/(events|platform/)' || status=1
if [ "$status" -ne 0 ]; then
  echo "schemathesis found responses the document does not describe (above); the server's log:" >&2
  tail -50 "$work/server.log" >&2
fi
exit "$status"
