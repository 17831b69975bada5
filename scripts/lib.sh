# Shared helpers for scripts/load.sh, scripts/nginx_ratio.sh and scripts/faults.sh.
# Source it; it is not a command of its own.
#
# What it provides: starting and stopping a release server on a fresh database (SQLite
# in a temporary folder, or a fresh PostgreSQL database next to a given URL), SQL on that
# database, logging in with curl (session cookie and CSRF token), turning the demo shop
# into a flash sale, reading the server's memory, and parsing wrk's RESULT lines.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD_BIN=${LOAD_BIN:-$REPO_ROOT/target/release/kaibo}
LOAD_LUA_DIR=$REPO_ROOT/benches/load
export LOAD_LUA_DIR

# Filled in by the functions below.
WORK=""            # temporary folder of this run (logs, cookie jars, SQLite data)
DATA=""            # the server's data folder
DB_URL=""          # postgres://... of the fresh database, empty for SQLite
DB_ADMIN_URL=""    # the URL the fresh database was created next to
SERVER_PID=""
SERVER_PORT=""
SERVER_LOG=""
BASE=""            # http://127.0.0.1:PORT

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

need_tools() {
    local t
    for t in "$@"; do
        command -v "$t" >/dev/null 2>&1 || die "$t is not installed (Debian: apt-get install -y $t)"
    done
}

need_binary() {
    [ -x "$LOAD_BIN" ] || die "no release binary at $LOAD_BIN: build it with
    cargo build --release --bin kaibo"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# make_workdir PREFIX: a temporary folder for the run, kept when KEEP=1.
make_workdir() {
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
    DATA=$WORK/data
    mkdir -p "$DATA"
}

# use_database [ADMIN_URL]: with a postgres:// URL, create a fresh database next to it
# (same server and user, name kaibo_load_<pid>_<n>) and use it; without, SQLite in $DATA.
DB_COUNTER=0
use_database() {
    DB_ADMIN_URL=${1:-}
    DB_URL=""
    if [ -n "$DB_ADMIN_URL" ]; then
        need_tools psql
        DB_COUNTER=$((DB_COUNTER + 1))
        local name="kaibo_load_$$_$DB_COUNTER"
        psql -X -q -v ON_ERROR_STOP=1 "$DB_ADMIN_URL" -c "CREATE DATABASE $name" >/dev/null \
            || die "cannot create database $name on $DB_ADMIN_URL"
        DB_URL=$(python3 - "$DB_ADMIN_URL" "$name" <<'PY'
import sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
print(urllib.parse.urlunsplit((u.scheme, u.netloc, "/" + sys.argv[2], u.query, u.fragment)))
PY
)
        log "database: PostgreSQL $DB_URL"
    else
        need_tools sqlite3
        log "database: SQLite $DATA/kaibo.db"
    fi
}

drop_database() {
    if [ -n "$DB_URL" ] && [ "${KEEP:-0}" != 1 ]; then
        local name=${DB_URL##*/}
        name=${name%%\?*}
        psql -X -q "$DB_ADMIN_URL" -c "DROP DATABASE IF EXISTS $name WITH (FORCE)" >/dev/null 2>&1 || true
    fi
}

backend_name() { if [ -n "$DB_URL" ]; then echo postgres; else echo sqlite; fi; }

# sql QUERY: runs one statement on the server's database, prints rows as a|b|c.
sql() {
    if [ -n "$DB_URL" ]; then
        psql -X -q -A -t -v ON_ERROR_STOP=1 "$DB_URL" -c "$1"
    else
        sqlite3 -batch -noheader -cmd '.timeout 10000' "$DATA/kaibo.db" "$1"
    fi
}

# The server and the command line refuse unknown KAIBO_* variables, so none is inherited
# from the caller's environment (nor DATABASE_URL); settings for the server go in
# LOAD_SERVER_ENV ("KAIBO_X=1 KAIBO_Y=2").
CLEAN_ENV=(-u DATABASE_URL)
for _v in $(compgen -e | grep '^KAIBO_' || true); do CLEAN_ENV+=(-u "$_v"); done

# The kaibo command line on the same database as the server.
kaibo_cli() {
    if [ -n "$DB_URL" ]; then
        env "${CLEAN_ENV[@]}" DATABASE_URL="$DB_URL" "$LOAD_BIN" "$@"
    else
        env "${CLEAN_ENV[@]}" KAIBO_DATA="$DATA" "$LOAD_BIN" "$@"
    fi
}

# start_server [ENV=VALUE...]: starts the release server on a free port with the demo
# accounts, a demo catalog of ${LOAD_CATALOG_SKUS:-20000} SKUs and the bundled courses, and waits
# for /healthz. Extra arguments are environment settings for the server (KAIBO_X=...).
start_server() {
    [ -n "$SERVER_PORT" ] || SERVER_PORT=$(free_port)
    BASE=http://127.0.0.1:$SERVER_PORT
    SERVER_LOG=${SERVER_LOG:-$WORK/server.log}
    local envs=(NO_COLOR=1 KAIBO_DATA="$DATA" KAIBO_BIND="127.0.0.1:$SERVER_PORT"
        KAIBO_COURSES="$REPO_ROOT/courses"
        KAIBO_DEMO_CATALOG_SKUS="${LOAD_CATALOG_SKUS:-20000}")
    if [ -n "$DB_URL" ]; then envs+=(DATABASE_URL="$DB_URL"); fi
    # shellcheck disable=SC2206
    local extra=(${LOAD_SERVER_ENV:-})
    env "${CLEAN_ENV[@]}" "${envs[@]}" "${extra[@]}" "$@" \
        "$LOAD_BIN" serve >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local i
    for i in $(seq 1 1800); do
        if curl -fsS -m 2 "$BASE/healthz" >/dev/null 2>&1; then
            log "server pid $SERVER_PID on $BASE (log $SERVER_LOG)"
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -20 "$SERVER_LOG" >&2; die "the server exited at start"; }
        sleep 0.1
    done
    die "the server did not answer /healthz within 180 s"
}

# stop_server [SIGNAL]: stops the server (TERM by default) and waits for it.
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill -"${1:-TERM}" "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# demo_password EMAIL: the password the first start printed for a demo account.
demo_password() {
    awk -v e="$1" '$2 == e { print $3; exit }' "$SERVER_LOG"
}

# create_account EMAIL ROLE NAME: a new account with the password $LOAD_PASSWORD.
LOAD_PASSWORD="load test passphrase 2026"
create_account() {
    printf '%s\n' "$LOAD_PASSWORD" | kaibo_cli user create --email "$1" --role "$2" --name "$3" --password-stdin >/dev/null \
        || die "cannot create account $1"
}

# cookie_header JAR: "name=value; name=value" from a curl cookie jar.
cookie_header() {
    awk -F'\t' 'NF >= 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$1"
}

# csrf_of FILE: the first CSRF token in an HTML page.
csrf_of() { grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 | sed 's/.*value="//; s/"$//'; }

# login EMAIL PASSWORD: logs in with the form and prints "cookie header|csrf token".
login() {
    local jar page code
    jar=$(mktemp "$WORK/jar.XXXXXX")
    page=$(mktemp "$WORK/page.XXXXXX")
    curl -sS -c "$jar" -b "$jar" -o "$page" "$BASE/login"
    local token
    token=$(csrf_of "$page")
    [ -n "$token" ] || die "no CSRF token on /login"
    code=$(curl -sS -c "$jar" -b "$jar" -o "$page" -w '%{http_code}' \
        --data-urlencode "csrf=$token" --data-urlencode "email=$1" --data-urlencode "password=$2" \
        "$BASE/login")
    [ "$code" = 303 ] || die "login as $1 answered $code (expected 303)"
    curl -sS -c "$jar" -b "$jar" -o "$page" "$BASE/profile"
    token=$(csrf_of "$page")
    [ -n "$token" ] || die "no CSRF token on /profile after logging in as $1"
    printf '%s|%s\n' "$(cookie_header "$jar")" "$token"
}

# prepare_flash_sale: the demo trainee's live shop (seeded at first start) gets 10 million
# units on every SKU it sells and a two-hour flash deal on its first SKU
# (${LOAD_DEAL_QUANTITY:-1000000} units, 3 per buyer, 70 % of the showcase price). Sets
# SHOP, SHOP_USER, SKUS (comma-separated), HOT_SKU and DEAL.
prepare_flash_sale() {
    SHOP=$(sed -n 's#^Demo shop: /shop/\([^ ]*\) .*#\1#p' "$SERVER_LOG" | head -1)
    [ -n "$SHOP" ] || die "the server did not print a demo shop"
    SHOP_USER=$(sql "SELECT user_id FROM shops WHERE handle = '$SHOP'")
    SKUS=$(sql "SELECT s.id FROM skus s JOIN showcase_items i ON i.product_id = s.product_id
                WHERE i.user_id = $SHOP_USER ORDER BY s.id" | paste -sd, -)
    [ -n "$SKUS" ] || die "the demo shop sells no SKU"
    HOT_SKU=${SKUS%%,*}
    sql "UPDATE skus SET stock = 10000000 WHERE id IN ($SKUS)" >/dev/null
    local price now_minus now_plus
    price=$(sql "SELECT i.price_fen * 7 / 10 FROM showcase_items i JOIN skus s ON s.product_id = i.product_id
                 WHERE s.id = $HOT_SKU AND i.user_id = $SHOP_USER")
    if [ -n "$DB_URL" ]; then
        now_minus="(now() AT TIME ZONE 'utc') - interval '1 minute'"
        now_plus="(now() AT TIME ZONE 'utc') + interval '2 hours'"
        DEAL=$(sql "INSERT INTO flash_deals (shop_user_id, sku_id, mode, price_fen, quantity, sold,
                    per_buyer_limit, starts_at, ends_at, created_at)
                    VALUES ($SHOP_USER, $HOT_SKU, 'live', $price, ${LOAD_DEAL_QUANTITY:-1000000}, 0, 3,
                    $now_minus, $now_plus, $now_minus) RETURNING id")
    else
        now_minus="strftime('%Y-%m-%d %H:%M:%f', 'now', '-1 minute')"
        now_plus="strftime('%Y-%m-%d %H:%M:%f', 'now', '+2 hours')"
        DEAL=$(sql "INSERT INTO flash_deals (shop_user_id, sku_id, mode, price_fen, quantity, sold,
                    per_buyer_limit, starts_at, ends_at, created_at)
                    VALUES ($SHOP_USER, $HOT_SKU, 'live', $price, ${LOAD_DEAL_QUANTITY:-1000000}, 0, 3,
                    $now_minus, $now_plus, $now_minus) RETURNING id")
    fi
    [ -n "$DEAL" ] || die "cannot create the flash deal"
    log "shop $SHOP (user $SHOP_USER): $(echo "$SKUS" | tr ',' '\n' | wc -l) SKUs, flash deal $DEAL on SKU $HOT_SKU"
}

# Memory of a process in KiB, from /proc/PID/status.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# result_field FILE KEY: a value from the RESULT line a wrk script printed.
result_field() {
    grep -m1 '^RESULT ' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# A wrk latency figure such as "1.23ms", "850.00us" or "2.01s" in milliseconds.
wrk_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.2f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.2f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.2f", v * 1000 }
        else { print "?" } }'
}

# server_problems: panics and errors in the server's log, for the report.
server_problems() {
    local panics errors
    panics=$(grep -c 'panicked' "$SERVER_LOG" 2>/dev/null || true)
    errors=$(grep -c ' ERROR ' "$SERVER_LOG" 2>/dev/null || true)
    echo "server log: ${panics:-0} panics, ${errors:-0} ERROR lines ($SERVER_LOG)"
    if [ "${panics:-0}" != 0 ] || [ "${errors:-0}" != 0 ]; then
        grep -E 'panicked| ERROR ' "$SERVER_LOG" | sed -E 's/[0-9]+/N/g' | sort | uniq -c | sort -rn | head -10 | sed 's/^/    /'
    fi
}
