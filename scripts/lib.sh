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
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }
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

# server_problems: panics and errors in the server's log, for the report: the count, and
# each distinct (request, message, cause) once with how often it occurred.
server_problems() {
    python3 - "$SERVER_LOG" <<'PY2'
import re, sys, collections
text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
panics = len(re.findall(r"panicked", text))
events = collections.Counter()
lines = text.split("\n")
for i, line in enumerate(lines):
    m = re.match(r"^\S+\s+(ERROR|WARN) (.*)$", line)
    if not m:
        continue
    level, rest = m.groups()
    req = re.search(r"http\.method=(\S+) .*?http\.target=(\S+)", rest)
    where = f"{req.group(1)} {req.group(2)}: " if req else ""
    msg = re.sub(r"^HTTP request\{.*?\}: ", "", rest)
    msg = re.sub(r"exception\.details=.*", "", msg)[:160]
    if "exception.message=" in rest:
        continue  # the same error once more, from the request logger
    cause = ""
    for j in range(i + 1, min(i + 40, len(lines) - 1)):
        if re.match(r"^\d{4}-\d\d-\d\dT", lines[j]):
            break  # the next event
        if lines[j].startswith("Caused by:"):
            cause = " | cause: " + lines[j + 1].strip()
            break
    events[f"{level} {where}{msg}{cause}"] += 1
errors = sum(n for k, n in events.items() if k.startswith("ERROR"))
print(f"server log: {panics} panics, {errors} errors, {sum(events.values()) - errors} warnings ({sys.argv[1]})")
for k, n in events.most_common(12):
    print(f"    {n:>6} x {k}")
PY2
}

# metrics_snapshot FILE: the server's /metrics (Prometheus text), if it has one.
metrics_snapshot() { curl -fsS -m 10 -o "$1" "$BASE/metrics" 2>/dev/null || : >"$1"; }

# metrics_report BEFORE AFTER: time spent inside the server per route between two
# snapshots: requests, mean, and the histogram bucket that holds the p99.
metrics_report() {
    python3 - "$1" "$2" <<'PY'
import collections, re, sys
def read(path):
    count, total, buckets = {}, {}, collections.defaultdict(dict)
    for line in open(path, encoding="utf-8"):
        m = re.match(r'kaibo_http_request_duration_seconds_(sum|count|bucket)\{(.*)\} (\S+)', line)
        if not m:
            continue
        kind, labels, value = m.group(1), dict(re.findall(r'(\w+)="([^"]*)"', m.group(2))), float(m.group(3))
        route = labels.get("route", "?")
        if kind == "sum": total[route] = value
        elif kind == "count": count[route] = value
        else: buckets[route][labels["le"]] = value
    return count, total, buckets
c0, s0, b0 = read(sys.argv[1])
c1, s1, b1 = read(sys.argv[2])
if not c1:
    print("server-side latency per route: the server has no /metrics")
    sys.exit(0)
print("server-side time per route during the load (from /metrics; p99 as the histogram bucket that holds it):")
print(f"    {'route':<48} {'requests':>9} {'mean ms':>9} {'p99 <= ms':>10}")
rows = []
for route, n in c1.items():
    dn = n - c0.get(route, 0)
    if dn <= 0:
        continue
    mean = (s1[route] - s0.get(route, 0)) / dn * 1000
    p99 = "?"
    for le, v in sorted(b1[route].items(), key=lambda kv: float("inf") if kv[0] == "+Inf" else float(kv[0])):
        if v - b0.get(route, {}).get(le, 0) >= 0.99 * dn:
            p99 = "inf" if le == "+Inf" else f"{float(le) * 1000:g}"
            break
    rows.append((dn, route, mean, p99))
for dn, route, mean, p99 in sorted(rows, reverse=True):
    print(f"    {route:<48} {int(dn):>9} {mean:>9.1f} {p99:>10}")
PY
}
