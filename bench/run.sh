#!/usr/bin/env bash
# Benchmark of the provider under gunicorn on one core, compared with npm oidc-provider v9.
# Usage: bench/run.sh            (or `make bench`); settings below are env-overridable.
# Writes bench/RESULTS.md; exits non-zero if any scenario saw an error response.
# Loopback only (127.0.0.1); every server it starts is stopped on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
VENV=${BENCH_VENV:-$ROOT/.venv}
PY=$VENV/bin/python

DURATION=${BENCH_DURATION:-10}          # seconds measured per scenario
WARMUP=${BENCH_WARMUP:-2}               # seconds of warm-up before each scenario (discarded)
WRK_THREADS=${BENCH_WRK_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
FLOW_CONCURRENCY=${BENCH_FLOW_CONCURRENCY:-4}   # threads (connections) of bench/flows.py
WORKERS=${BENCH_WORKERS:-1}             # gunicorn workers
GTHREADS=${BENCH_GUNICORN_THREADS:-4}   # gunicorn gthread threads per worker
SERVER_CPU=${BENCH_SERVER_CPU:-0}
CLIENT_CPU=${BENCH_CLIENT_CPU:-1}
GRANIAN=${BENCH_GRANIAN:-1}             # 0: skip the granian runs (gunicorn only)
SKIP_NODE=${BENCH_SKIP_NODE:-0}
SKIP_OURS=${BENCH_SKIP_OURS:-0}        # 1: only oidc-provider (to test the harness)
# The login rate limit is per client address and all load comes from 127.0.0.1: by default it
# is raised with IDP_RATELIMIT_LOGIN (the limiter stays in the request path);
# BENCH_RATELIMITS=production keeps the configured limit (the login scenario then sees 429s).
RATELIMITS=${BENCH_RATELIMITS:-raised}
RESULTS=${BENCH_RESULTS:-$HERE/RESULTS.md}
PHONE=${BENCH_PHONE:-+8613800138000}
PASSWORD=${BENCH_PASSWORD:-S3cure-Passw0rd!}
REDIRECT_URI=http://127.0.0.1:9/cb
HOST=127.0.0.1

WORK=$(mktemp -d /tmp/idp-bench.XXXXXX)
OUT=$WORK/out
mkdir -p "$OUT"
SERVER_PIDS=()
FAILED=0
DB_CREATED=0
REDIS_USED=0

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

stop_server() {  # $1 = pid of a process-group leader started with setsid
    local pid=$1 i
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    for pid in "${SERVER_PIDS[@]}"; do stop_server "$pid"; done
    if [[ $DB_CREATED == 1 && ${BENCH_KEEP:-0} != 1 ]]; then
        psql -q -h $HOST -U postgres -d postgres \
            -c 'drop database if exists idp_bench with (force)' >/dev/null 2>&1 || true
    fi
    if [[ $REDIS_USED == 1 && ${BENCH_KEEP:-0} != 1 ]]; then
        redis-cli -h $HOST -p 6379 -n 15 flushdb >/dev/null 2>&1 || true
    fi
    if [[ ${BENCH_KEEP:-0} == 1 ]]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() {  # $1 url, $2 pid, $3 log file
    local i
    for i in $(seq 1 150); do
        curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { tail -n 40 "$3" >&2; die "server exited: see above"; }
        sleep 0.2
    done
    tail -n 40 "$3" >&2
    die "server did not answer $1 within 30 s"
}

# -- prerequisites ----------------------------------------------------------------------------
command -v taskset >/dev/null || die "taskset (util-linux) is required"
command -v curl >/dev/null || die "curl is required"
[[ -x $PY ]] || die "no virtualenv at $VENV (run the project's install first)"
if ! command -v wrk >/dev/null; then
    log "installing wrk (Debian package)"
    [[ $(id -u) == 0 ]] || die "wrk is missing and installing it needs root: apt-get install wrk"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk \
        >/dev/null || die "apt-get install wrk failed"
fi
if [[ $SKIP_NODE != 1 ]]; then
    command -v node >/dev/null || die "node is required (or BENCH_SKIP_NODE=1)"
    if [[ ! -d $HERE/node/node_modules/oidc-provider ]]; then
        log "installing oidc-provider from bench/node/package-lock.json (npm ci)"
        (cd "$HERE/node" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) \
            || die "npm ci failed in bench/node"
    fi
fi
NCPU=$(nproc)
if ((NCPU < 2)); then
    log "only $NCPU CPU: server and load generator share it"
    SERVER_CPU=0 CLIENT_CPU=0
fi

# Counters of the shared services, to tell per-request database/store work: PostgreSQL
# transactions (commits + rollbacks) of idp_bench from pg_stat_database (backends publish these
# about once a second, so the last second of a run may be missing) and Redis commands.
io_snapshot() {
    local db=0 rc=0
    if [[ $DB_CREATED == 1 ]]; then
        db=$(psql -h $HOST -U postgres -d postgres -tAc "select xact_commit + xact_rollback \
            from pg_stat_database where datname = 'idp_bench'" 2>/dev/null || echo 0)
    fi
    if [[ $REDIS_USED == 1 ]]; then
        rc=$(redis-cli -h $HOST -p 6379 info stats 2>/dev/null \
            | awk -F: '/^total_commands_processed/ {print $2}' | tr -d '\r')
    fi
    echo "${db:-0} ${rc:-0}"
}
io_delta() {  # $1 = name, $2 = snapshot before
    local b_db b_rc a_db a_rc
    read -r b_db b_rc <<<"$2"
    read -r a_db a_rc < <(io_snapshot)
    # The two psql/redis-cli calls themselves count one transaction/command each.
    echo "db_xacts=$((a_db - b_db - 1)) redis_cmds=$((a_rc - b_rc - 1))" >"$OUT/$1.io"
}

# -- wrk scenario helper ----------------------------------------------------------------------
# run_wrk NAME URL [METHOD BODY AUTH]: warm-up, then the measured run; results in $OUT/NAME.res
run_wrk() {
    local name=$1 url=$2 method=${3:-GET} body=${4:-} auth=${5:-} secs
    export BENCH_METHOD=$method BENCH_BODY=$body BENCH_AUTH=$auth
    if ((WARMUP > 0)); then
        BENCH_OUT=$OUT/$name.warmup timeout $((WARMUP + 30)) taskset -c "$CLIENT_CPU" \
            wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$HERE/lua/request.lua" \
            "$url" >"$OUT/$name.warmup.txt" 2>&1 || true
    fi
    log "$name: $method $url (${DURATION}s, $CONNECTIONS connections)"
    local before
    before=$(io_snapshot)
    BENCH_OUT=$OUT/$name.res timeout $((DURATION + 30)) taskset -c "$CLIENT_CPU" \
        wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency --timeout 10s \
        -s "$HERE/lua/request.lua" "$url" >"$OUT/$name.txt" 2>&1 \
        || { log "$name: wrk failed"; cat "$OUT/$name.txt" >&2; FAILED=1; return 0; }
    unset BENCH_METHOD BENCH_BODY BENCH_AUTH
    [[ $name == ours-* ]] && io_delta "$name" "$before"
    grep -E '^(Requests/sec|  Non-2xx|  Socket errors)' "$OUT/$name.txt" >&2 || true
    if [[ ! -s $OUT/$name.res ]]; then
        log "$name: no result"; FAILED=1; return 0
    fi
    secs=$(tr ' ' '\n' <"$OUT/$name.res" | awk -F= '
        /_errors=|timeouts=/ { n += $2 } END { print n + 0 }')
    if [[ $secs != 0 ]]; then
        log "$name: $secs errors (non-2xx/3xx or socket); a sample response follows"
        curl -sS -i --max-time 5 -X "$method" ${auth:+-H "Authorization: $auth"} \
            ${body:+--data "$body"} "$url" 2>&1 | head -c 1500 | tee "$OUT/$name.sample" >&2
        echo >&2
        FAILED=1
    fi
}

# -- machine and versions ---------------------------------------------------------------------
{
    echo "nproc=$NCPU"
    echo "cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "mem=$(awk '/^MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
    echo "kernel=$(uname -r)"
    echo "loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
    echo "python=$("$PY" -c 'import platform; print(platform.python_version())')"
    echo "wrk=$(dpkg-query -W -f '${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -1)"
    "$PY" - <<'EOF'
from importlib import metadata
for name in ("gunicorn", "flask", "authlib", "sqlalchemy", "psycopg", "argon2-cffi", "redis",
             "cryptography", "granian", "idp"):
    try:
        print(f"pkg_{name}={metadata.version(name)}")
    except metadata.PackageNotFoundError:
        pass
EOF
    if [[ $SKIP_NODE != 1 ]]; then
        echo "node=$(node --version)"
        echo "oidc_provider=$(node -p "require('$HERE/node/node_modules/oidc-provider/package.json').version")"
        echo "jose=$(node -p "require('$HERE/node/node_modules/jose/package.json').version")"
    fi
} >"$OUT/meta.env"

if [[ $SKIP_OURS != 1 ]]; then
# -- our provider: state ----------------------------------------------------------------------
[[ -f $ROOT/idp/__init__.py ]] || die "the provider (idp/) is not there yet"
export IDP_ENV=production
# its own instance folder: a production process refuses a checkout's development settings
export IDP_INSTANCE_DIR=$WORK
export IDP_ALLOW_INSECURE_HTTP=1
# production requires an SMS gateway; the benchmark sends no text message (unroutable host)
export IDP_SMS_SENDER=http IDP_SMS_GATEWAY_URL=https://sms-gateway.invalid/send
export IDP_SMS_GATEWAY_SECRET=bench-sms-secret-bench-sms-secret-0123
# and a mail relay; the benchmark sends no email either
export IDP_EMAIL_SENDER=smtp IDP_EMAIL_SMTP_HOST=smtp.invalid IDP_EMAIL_FROM=noreply@idp.invalid
# fresh throw-away secrets, the same set `make run` uses
rm -f "$WORK/secrets.env" && "$PY" -m idp.devenv "$WORK/secrets.env"
set -a && . "$WORK/secrets.env" && set +a
if pg_isready -q -h $HOST -p 5432 2>/dev/null; then
    psql -q -h $HOST -U postgres -d postgres -v ON_ERROR_STOP=1 \
        -c 'drop database if exists idp_bench with (force)' -c 'create database idp_bench' \
        >/dev/null || die "cannot create database idp_bench"
    DB_CREATED=1
    export IDP_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/idp_bench
    echo "database=PostgreSQL $(psql -h $HOST -U postgres -d idp_bench -tAc 'show server_version')" \
        >>"$OUT/meta.env"
else
    export IDP_DATABASE_URL=sqlite:///$WORK/idp.db IDP_ALLOW_SQLITE=1  # one node
    echo "database=SQLite (PostgreSQL not reachable)" >>"$OUT/meta.env"
fi
if [[ $(redis-cli -h $HOST -p 6379 ping 2>/dev/null) == PONG ]]; then
    export IDP_REDIS_URL=redis://127.0.0.1:6379/15
    redis-cli -h $HOST -p 6379 -n 15 flushdb >/dev/null
    REDIS_USED=1
    echo "redis=$(redis-cli -h $HOST -p 6379 info server | awk -F: '/^redis_version/ {print $2}' \
        | tr -d '\r') (db 15, flushed)" >>"$OUT/meta.env"
else
    unset IDP_REDIS_URL
    echo "redis=not used (not reachable)" >>"$OUT/meta.env"
fi
PORT=$(free_port)
export IDP_ISSUER=http://$HOST:$PORT
ISSUER=$IDP_ISSUER
IDP=$VENV/bin/idp

cd "$ROOT"
log "setting up $IDP_DATABASE_URL"
"$IDP" db upgrade >"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; die "idp db upgrade"; }
"$IDP" keys rotate >>"$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; die "idp keys rotate"; }
"$IDP" users create --phone "$PHONE" --password "$PASSWORD" --json >"$OUT/user.json" \
    2>>"$OUT/setup.log" || { cat "$OUT/setup.log" "$OUT/user.json" >&2; die "idp users create"; }
"$IDP" clients create --name bench --redirect-uri "$REDIRECT_URI" \
    --grant-type client_credentials --grant-type authorization_code \
    --grant-type refresh_token --scope "openid profile api" --json >"$OUT/client.json" \
    2>>"$OUT/setup.log" || { cat "$OUT/setup.log" "$OUT/client.json" >&2; die "idp clients create"; }
read -r CLIENT_ID CLIENT_SECRET < <("$PY" - "$OUT/client.json" <<'EOF'
import json, sys
text = open(sys.argv[1]).read()
try:
    data = json.loads(text)
except ValueError:
    data = json.loads(text[text.index("{"): text.rindex("}") + 1])
print(data["client_id"], data["client_secret"])
EOF
) || die "cannot read client_id/client_secret from: $(cat "$OUT/client.json")"
BASIC="Basic $(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)"

# Argon2 parameters, as stored in the PHC string of the user's password hash.
if [[ $DB_CREATED == 1 ]]; then
    ARGON=$(pg_dump -h $HOST -U postgres --data-only idp_bench 2>/dev/null \
        | grep -oE '\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+' | head -1 || true)
else
    ARGON=$("$PY" -c 'import sqlite3, sys; print("\n".join(sqlite3.connect(sys.argv[1]).iterdump()))' \
        "$WORK/idp.db" | grep -oE '\$argon2(id|i|d)\$v=[0-9]+\$m=[0-9]+,t=[0-9]+,p=[0-9]+' \
        | head -1 || true)
fi
echo "argon2=${ARGON:-not visible}" >>"$OUT/meta.env"

# -- our provider: scenarios --------------------------------------------------------------------
run_ours() {  # $1 = label (gunicorn|granian); server already listening on $PORT
    local label=$1 disco jwks token before
    disco=$(curl -fsS "$ISSUER/.well-known/openid-configuration") || die "discovery failed"
    jwks=$(printf '%s' "$disco" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jwks_uri"])')
    token=$(printf '%s' "$disco" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["token_endpoint"])')
    [[ $jwks == http://127.0.0.1:* && $token == http://127.0.0.1:* ]] \
        || die "endpoints are not on loopback: $jwks $token"
    # One request of each first, so that a broken endpoint is reported with its body.
    curl -sS -i -u "$CLIENT_ID:$CLIENT_SECRET" -d 'grant_type=client_credentials&scope=api' \
        "$token" >"$OUT/$label.token.probe" 2>&1 || true
    head -1 "$OUT/$label.token.probe" | grep -q ' 200' \
        || { log "client_credentials probe failed:"; head -c 1500 "$OUT/$label.token.probe" >&2; }
    run_wrk "ours-$label-token" "$token" POST 'grant_type=client_credentials&scope=api' "$BASIC"
    run_wrk "ours-$label-jwks" "$jwks"
    run_wrk "ours-$label-discovery" "$ISSUER/.well-known/openid-configuration"
    local scen
    for scen in authcode login; do
        log "$scen ($label): bench/flows.py, $FLOW_CONCURRENCY threads, ${DURATION}s"
        before=$(io_snapshot)
        timeout $((WARMUP + DURATION + 120)) taskset -c "$CLIENT_CPU" "$PY" "$HERE/flows.py" \
            "$scen" --issuer "$ISSUER" --client-id "$CLIENT_ID" --client-secret "$CLIENT_SECRET" \
            --redirect-uri "$REDIRECT_URI" --username "$PHONE" --password "$PASSWORD" \
            --concurrency "$FLOW_CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
            --out "$OUT/ours-$label-$scen.json" || { log "$scen: errors"; FAILED=1; }
        io_delta "ours-$label-$scen" "$before"
    done
}

APP=wsgi:app
if [[ $RATELIMITS != production ]]; then
    export IDP_RATELIMIT_LOGIN="1000000000 per minute"
    echo "ratelimit_login=$IDP_RATELIMIT_LOGIN" >>"$OUT/meta.env"
fi
log "starting gunicorn ($WORKERS worker, gthread x $GTHREADS) on $ISSUER, CPU $SERVER_CPU"
setsid taskset -c "$SERVER_CPU" "$VENV/bin/gunicorn" -w "$WORKERS" -k gthread \
    --threads "$GTHREADS" -b "$HOST:$PORT" "$APP" >"$OUT/gunicorn.log" 2>&1 &
GPID=$!
SERVER_PIDS+=("$GPID")
wait_http "$ISSUER/.well-known/openid-configuration" "$GPID" "$OUT/gunicorn.log"
run_ours gunicorn
stop_server "$GPID"

if [[ $GRANIAN == 1 ]]; then
    [[ -x $VENV/bin/granian ]] || die "granian is missing from $VENV (a dependency in setup.cfg)"
    log "starting granian (wsgi, $WORKERS worker, $GTHREADS blocking threads) on $ISSUER"
    setsid taskset -c "$SERVER_CPU" "$VENV/bin/granian" --interface wsgi --host $HOST \
        --port "$PORT" --workers "$WORKERS" --blocking-threads "$GTHREADS" --no-ws \
        --log-level warning "$APP" >"$OUT/granian.log" 2>&1 &
    NPID=$!
    SERVER_PIDS+=("$NPID")
    wait_http "$ISSUER/.well-known/openid-configuration" "$NPID" "$OUT/granian.log"
    run_ours granian
    stop_server "$NPID"
fi
fi  # SKIP_OURS

# -- oidc-provider v9 ---------------------------------------------------------------------------
if [[ $SKIP_NODE != 1 ]]; then
    OP_PORT=$(free_port)
    OP_SECRET=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
    log "starting oidc-provider on 127.0.0.1:$OP_PORT, CPU $SERVER_CPU"
    (cd "$HERE/node" && NODE_ENV=production OP_PORT=$OP_PORT OP_CLIENT_ID=bench \
        OP_CLIENT_SECRET=$OP_SECRET exec setsid taskset -c "$SERVER_CPU" node op.mjs) \
        >"$OUT/oidc-provider.log" 2>&1 &
    OPID=$!
    SERVER_PIDS+=("$OPID")
    wait_http "http://$HOST:$OP_PORT/.well-known/openid-configuration" "$OPID" \
        "$OUT/oidc-provider.log"
    OP_BASIC="Basic $(printf '%s:%s' bench "$OP_SECRET" | base64 -w0)"
    run_wrk op-token "http://$HOST:$OP_PORT/token" POST \
        'grant_type=client_credentials&scope=api' "$OP_BASIC"
    run_wrk op-jwks "http://$HOST:$OP_PORT/jwks"
    run_wrk op-discovery "http://$HOST:$OP_PORT/.well-known/openid-configuration"
    stop_server "$OPID"
fi

# -- report -------------------------------------------------------------------------------------
{
    echo "duration=$DURATION"; echo "warmup=$WARMUP"; echo "wrk_threads=$WRK_THREADS"
    echo "connections=$CONNECTIONS"; echo "flow_concurrency=$FLOW_CONCURRENCY"
    echo "workers=$WORKERS"; echo "gthreads=$GTHREADS"; echo "server_cpu=$SERVER_CPU"
    echo "client_cpu=$CLIENT_CPU"; echo "granian=$GRANIAN"; echo "failed=$FAILED"
    echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
} >>"$OUT/meta.env"
"$PY" "$HERE/report.py" "$OUT" "$RESULTS" || die "report.py failed"
log "wrote $RESULTS"
if [[ $FAILED != 0 ]]; then
    log "some scenario produced errors (see above and $RESULTS)"
    exit 1
fi
