#!/usr/bin/env bash
# The demo, in one command (`make demo`): a national provider, a regional provider (a second
# instance of this project, with its own instance folder, database and port) registered with
# it as an upstream, and two regional platforms that log in with the national provider.
#
#   national provider   http://127.0.0.1:$DEMO_PORT        (citizen 13800138000)
#   regional provider   http://localhost:$((DEMO_PORT+1))  (citizen 13900139000; another host,
#                                                           so the two providers' cookies differ)
#   platform A          http://127.0.0.1:$((DEMO_PORT+2))
#   platform B          http://127.0.0.1:$((DEMO_PORT+3))
#
# Everything is made afresh at each start under examples/.demo/ (git-ignored; DEMO_DIR moves
# it): databases, development secrets (python -m idp.devenv), signing keys, clients and their
# secrets. Ctrl-C stops the four servers.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.venv/bin}
PORT=${DEMO_PORT:-5200}
DEMO=${DEMO_DIR:-$ROOT/examples/.demo}
NATIONAL=http://127.0.0.1:$PORT
REGIONAL=http://localhost:$((PORT + 1))
PLATFORM_A=http://127.0.0.1:$((PORT + 2))
PLATFORM_B=http://127.0.0.1:$((PORT + 3))
NATIONAL_PASSWORD='Demo-Passw0rd!'
REGIONAL_PASSWORD='Regional-Passw0rd!'

rm -rf "$DEMO"
mkdir -p "$DEMO/national" "$DEMO/regional"
echo "Setting up the demo in $DEMO (about a minute)…"
exec 3>&2 2>>"$DEMO/setup.log"  # the commands' warnings go to the log; 3 is the terminal
trap 'echo "The demo did not start: see the logs in $DEMO" >&3' ERR

# idp_at INSTANCE ISSUER ARGS…: the idp command of one instance (its folder, issuer and
# secrets: the idp command reads dev.env from its instance folder)
idp_at() {
    local folder=$1 issuer=$2
    shift 2
    IDP_INSTANCE_DIR="$DEMO/$folder" IDP_ENV=development IDP_ISSUER="$issuer" \
        IDP_PORT="${issuer##*:}" "$BIN/idp" "$@"
}
field() { "$BIN/python" -c "import json, sys; print(json.load(sys.stdin)['$1'])"; }

for folder in national regional; do
    "$BIN/python" -m idp.devenv "$DEMO/$folder/dev.env"
done
idp_at national "$NATIONAL" db upgrade >>"$DEMO/setup.log" 2>&1
idp_at regional "$REGIONAL" db upgrade >>"$DEMO/setup.log" 2>&1
idp_at national "$NATIONAL" keys rotate >>"$DEMO/setup.log"
idp_at regional "$REGIONAL" keys rotate >>"$DEMO/setup.log"

# The citizens: one with a national account, one with an account at the regional provider.
idp_at national "$NATIONAL" users create --phone 13800138000 --password "$NATIONAL_PASSWORD" \
    --name 张三 --json >>"$DEMO/setup.log"
idp_at regional "$REGIONAL" users create --phone 13900139000 --password "$REGIONAL_PASSWORD" \
    --name 王五 --json >>"$DEMO/setup.log"

# The national provider is a client of the regional one: it registers its callback there,
# for logins and for the way back after a logout there.
CALLBACK=$NATIONAL/upstream/zj/callback
UPSTREAM_CLIENT=$(idp_at regional "$REGIONAL" clients create --name 国家统一身份认证平台 \
    --redirect-uri "$CALLBACK" --post-logout-redirect-uri "$CALLBACK" \
    --scope "openid profile phone" --json)
idp_at national "$NATIONAL" upstreams add --slug zj --name 浙江政务服务网 --issuer "$REGIONAL" \
    --client-id "$(field client_id <<<"$UPSTREAM_CLIENT")" \
    --client-secret "$(field client_secret <<<"$UPSTREAM_CLIENT")" --max-level 2 \
    --json >>"$DEMO/setup.log"

# The platforms: clients of the national provider. They accept back-channel logout tokens at
# /backchannel-logout; registered for them when this provider sends them.
platform_client() {
    local name=$1 base=$2 backchannel=()
    if idp_at national "$NATIONAL" clients create --help | grep -q -- --backchannel-logout-uri
    then
        backchannel=(--backchannel-logout-uri "$base/backchannel-logout")
    fi
    idp_at national "$NATIONAL" clients create --name "$name" --redirect-uri "$base/callback" \
        --post-logout-redirect-uri "$base/" --scope "openid profile phone" \
        "${backchannel[@]}" --json
}
CLIENT_A=$(platform_client 社保服务平台 "$PLATFORM_A")
CLIENT_B=$(platform_client 公积金服务平台 "$PLATFORM_B")

trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT
idp_at national "$NATIONAL" run --host 127.0.0.1 --port "$PORT" --with-threads \
    >"$DEMO/national.log" 2>&1 &
idp_at regional "$REGIONAL" run --host 127.0.0.1 --port "$((PORT + 1))" --with-threads \
    >"$DEMO/regional.log" 2>&1 &
CLIENT_SECRET=$(field client_secret <<<"$CLIENT_A") "$BIN/python" examples/demo_platform.py \
    --name 社保服务平台 --port "$((PORT + 2))" --issuer "$NATIONAL" \
    --client-id "$(field client_id <<<"$CLIENT_A")" --other "$PLATFORM_B/" \
    >"$DEMO/platform-a.log" 2>&1 &
CLIENT_SECRET=$(field client_secret <<<"$CLIENT_B") "$BIN/python" examples/demo_platform.py \
    --name 公积金服务平台 --port "$((PORT + 3))" --issuer "$NATIONAL" \
    --client-id "$(field client_id <<<"$CLIENT_B")" --other "$PLATFORM_A/" \
    >"$DEMO/platform-b.log" 2>&1 &

# Wait until all four answer.
"$BIN/python" - "$NATIONAL/.well-known/openid-configuration" \
    "$REGIONAL/.well-known/openid-configuration" "$PLATFORM_A/" "$PLATFORM_B/" <<'EOF'
import sys, time, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
for url in sys.argv[1:]:
    for _ in range(150):
        try:
            opener.open(url, timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit(f"{url} did not start: see the logs")
EOF

exec 2>&3
cat <<EOF

  The demo is running (logs in $DEMO; Ctrl-C stops it).

  Platform A (社保服务平台):     $PLATFORM_A/
  Platform B (公积金服务平台):   $PLATFORM_B/
  National provider:            $NATIONAL/account   citizen 13800138000 / $NATIONAL_PASSWORD
  Regional provider (浙江):     $REGIONAL/account   citizen 13900139000 / $REGIONAL_PASSWORD

  1. Brokering: open platform A, "Log in", choose "使用 浙江政务服务网 登录", log in there as
     13900139000, allow; back at the national provider choose "注册账号" (create an account;
     the regional provider vouched for the number), allow: A shows 王五, amr ["fed"].
  2. Single sign-on: open platform B, "Log in": no password, only B's consent.
  3. Logout everywhere: "Log out everywhere" at B ends the national session, passes by the
     regional provider (which logs out too) and returns to B; A hears of it by back-channel
     logout once the provider sends logout tokens (reload A).

EOF
wait
