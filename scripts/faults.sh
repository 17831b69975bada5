#!/usr/bin/env bash
# Fault injection against a release build. Each check prints PASS or FAIL (or SKIP with
# the reason); the script exits 1 when any check fails.
#
#   (a) crash   kill -9 the server while wrk places orders on POST /api/orders; wrk
#               writes the reference of every order it got a 2xx for to a file (the Lua
#               response() callback in benches/load/buyer.lua); restart the server on the
#               same database and check with SQL that every acknowledged order is there,
#               that no stock went below zero and that orders are taken again.
#               On SQLite, and on PostgreSQL too when a URL is given.
#   (b) database down (PostgreSQL only, needs the URL of a local cluster): during an order
#               load, stop PostgreSQL for FAULT_DOWN_SECONDS (10) with pg_ctlcluster and
#               start it again. Probes send one request after another (an order, a
#               logged-in lesson page, a form post marking the lesson complete, /healthz).
#               While PostgreSQL is down they must answer 503, never 500, within
#               FAULT_MAX_SECONDS (10 s: no hang); no request of the probes or of the wrk
#               order load may get a 5xx other than 503, even those in flight when it
#               stops; once it is back they must succeed again within
#               FAULT_RECOVERY_SECONDS (15 s), from the same server process (no restart).
#   (c) disk full (SQLite): the data folder on a small tmpfs (a loop-mounted ext4 image if
#               tmpfs cannot be mounted); fill the file system, then keep placing orders
#               until one is refused: writes must fail with a clean answer (503 or 507 with
#               a message, never 500, no hang), reads (a lesson, the shop, /healthz) must
#               still answer 200, and once space is freed writes must succeed again without
#               a restart.
#
# Usage (as root for (b) and (c); after `cargo build --release --bin kaibo`; needs wrk,
# curl, python3, sqlite3, and psql / pg_ctlcluster for PostgreSQL):
#
#   scripts/faults.sh                                           # (a) on SQLite, (c); (b) skipped
#   scripts/faults.sh postgres://postgres@127.0.0.1:5432/test    # also (a) on PostgreSQL and (b)
#
# (b) stops the whole local PostgreSQL cluster for 10 s: every other client of that
# cluster loses its connections too. Fresh databases are created next to the given one and
# dropped at the end. Settings: FAULT_KILL_AFTER [8] seconds of load before kill -9,
# FAULT_DOWN_SECONDS [10], FAULT_MAX_SECONDS [10], FAULT_RECOVERY_SECONDS [15],
# FAULT_TMPFS_MB [48], FAULT_ONLY (e.g. "a c"), KEEP=1, LOAD_BIN (the server binary,
# default target/release/kaibo).

set -uo pipefail
. "$(dirname "$0")/lib.sh"

PG_URL=${1:-}
FAULT_KILL_AFTER=${FAULT_KILL_AFTER:-8}
FAULT_DOWN_SECONDS=${FAULT_DOWN_SECONDS:-10}
FAULT_MAX_SECONDS=${FAULT_MAX_SECONDS:-10}
FAULT_RECOVERY_SECONDS=${FAULT_RECOVERY_SECONDS:-15}
FAULT_TMPFS_MB=${FAULT_TMPFS_MB:-48}
FAULT_ONLY=${FAULT_ONLY:-a b c}
need_tools wrk curl python3 sqlite3
need_binary

RESULTS=()
FAILED=0
check() { # NAME OK(0/1) DETAIL
    local verdict=PASS
    [ "$2" = 1 ] || { verdict=FAIL; FAILED=1; }
    printf '%s  %s: %s\n' "$verdict" "$1" "$3"
    RESULTS+=("$verdict  $1")
}
skip() { printf 'SKIP  %s: %s\n' "$1" "$2"; RESULTS+=("SKIP  $1"); }

ROOT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/kaibo-faults.XXXXXX")
MOUNTED=""
LOOPDEV=""
BG_PIDS=()
cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    stop_server
    drop_database
    if [ -n "$MOUNTED" ]; then umount "$MOUNTED" 2>/dev/null || umount -l "$MOUNTED" 2>/dev/null || true; fi
    [ -z "$LOOPDEV" ] || losetup -d "$LOOPDEV" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then log "kept $ROOT_WORK"; else rm -rf "$ROOT_WORK"; fi
}
trap cleanup EXIT

# new_run NAME [PG_URL]: a fresh folder, database and server for one check.
new_run() {
    stop_server
    drop_database
    WORK=$ROOT_WORK/$1
    DATA=${DATA_OVERRIDE:-$WORK/data}
    mkdir -p "$WORK" "$DATA"
    SERVER_PORT=""
    SERVER_LOG=$WORK/server.log
    use_database "${2:-}"
}

# order_once KEY: places one order (a random SKU of the shop) and prints "code seconds".
order_once() {
    local sku body
    sku=$(echo "$SKUS" | tr ',' '\n' | shuf -n1)
    body=$(printf '{"shop":"%s","lines":[{"sku_id":%s,"quantity":1}],"buyer":{"name":"Fault Buyer","phone":"139%08d","address":"1 Fault Road, Hangzhou"},"payment":{"method":"cod"}}' \
        "$SHOP" "$sku" "$((RANDOM * RANDOM % 100000000))")
    curl -sS -o "$WORK/last-order.json" -w '%{http_code} %{time_total}\n' -m 30 \
        -H 'Content-Type: application/json' -H "Idempotency-Key: fault-$1-$RANDOM$RANDOM" \
        --data "$body" "$BASE/api/orders" 2>/dev/null || echo "000 30"
}

# get_once PATH [COOKIE]: prints "code seconds".
get_once() {
    curl -sS -o "$WORK/last-get.html" -w '%{http_code} %{time_total}\n' -m 30 \
        ${2:+-H "Cookie: $2"} "$BASE$1" 2>/dev/null || echo "000 30"
}

# acknowledged_missing FILE: references in FILE (one a line) that are not in the orders
# table; prints "missing total" and writes the missing ones to FILE.missing.
acknowledged_missing() {
    local script=$WORK/check-acks.sql
    {
        echo "CREATE TEMPORARY TABLE acks (reference TEXT PRIMARY KEY);"
        sort -u "$1" | grep . | sed "s/.*/('&')/" | awk -v n=500 '
            { row[c++] = $0 }
            c == n { printf "INSERT INTO acks VALUES %s", row[0]; for (i = 1; i < c; i++) printf ",%s", row[i]; print ";"; c = 0 }
            END { if (c) { printf "INSERT INTO acks VALUES %s", row[0]; for (i = 1; i < c; i++) printf ",%s", row[i]; print ";" } }'
        echo "SELECT 'missing', reference FROM acks a WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.reference = a.reference);"
        echo "SELECT 'total', count(*) FROM acks;"
    } >"$script"
    local out
    if [ -n "$DB_URL" ]; then
        out=$(psql -X -q -A -t -F ' ' -v ON_ERROR_STOP=1 "$DB_URL" -f "$script")
    else
        out=$(sqlite3 -batch -noheader -separator ' ' -cmd '.timeout 10000' "$DATA/kaibo.db" <"$script")
    fi
    echo "$out" | awk '$1 == "missing" { print $2 }' >"$1.missing"
    echo "$(grep -c . "$1.missing") $(echo "$out" | awk '$1 == "total" { print $2 }')"
}

# ------------------------------------------------------------------ (a) kill -9
crash_check() { # LABEL [PG_URL]
    local label=$1
    new_run "crash-$label" "${2:-}"
    start_server
    prepare_flash_sale
    rm -f "$WORK"/acks.*
    LOAD_SHOP=$SHOP LOAD_SKU_IDS=$SKUS LOAD_HOT_SKU=$HOT_SKU LOAD_DEAL=$DEAL LOAD_ACK_FILE=$WORK/acks \
        wrk -t2 -c32 -d"$((FAULT_KILL_AFTER + 30))s" --timeout 5s -s "$LOAD_LUA_DIR/buyer.lua" "$BASE" \
        >"$WORK/wrk.out" 2>&1 &
    local wrk_pid=$!
    BG_PIDS+=("$wrk_pid")
    sleep "$FAULT_KILL_AFTER"
    local before
    before=$(cat "$WORK"/acks.* 2>/dev/null | wc -l)
    log "kill -9 $SERVER_PID after ${FAULT_KILL_AFTER} s ($before orders acknowledged so far)"
    kill -9 "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null
    SERVER_PID=""
    sleep 2
    kill -INT "$wrk_pid" 2>/dev/null
    wait "$wrk_pid" 2>/dev/null
    cat "$WORK"/acks.* 2>/dev/null >"$WORK/acknowledged.txt"
    local acked s5xx
    acked=$(sort -u "$WORK/acknowledged.txt" | grep -c . || true)
    s5xx=$(result_field "$WORK/wrk.out" s5xx)

    log "restarting on the same database"
    echo "---- restart after kill -9" >>"$SERVER_LOG"
    start_server
    local missing total
    read -r missing total < <(acknowledged_missing "$WORK/acknowledged.txt")
    local placed negative
    placed=$(sql "SELECT count(*) FROM orders WHERE shop_user_id = $SHOP_USER")
    negative=$(sql "SELECT count(*) FROM skus WHERE stock < 0")
    check "crash ($label): acknowledged orders survive kill -9" \
        "$([ "$total" -gt 0 ] && [ "$missing" = 0 ] && echo 1 || echo 0)" \
        "$total acknowledged (2xx with a reference), $missing missing after the restart; $placed orders in the database; wrk saw ${s5xx:-?} 5xx before the kill"
    check "crash ($label): stock consistent after the restart" "$([ "$negative" = 0 ] && echo 1 || echo 0)" \
        "$negative SKUs below zero"
    local answer
    answer=$(order_once after-crash)
    check "crash ($label): orders are taken after the restart" "$([ "${answer% *}" = 201 ] && echo 1 || echo 0)" \
        "POST /api/orders answered ${answer% *} in ${answer#* } s"
    if [ "$missing" != 0 ]; then
        echo "    missing references (first 10): $(head -10 "$WORK/acknowledged.txt.missing" | paste -sd' ' -)"
    fi
    server_problems | sed 's/^/    /'
}

# ------------------------------------------------------------------ (b) PostgreSQL down
# probe LABEL KIND: a loop of single requests, one line per answer: "unix_time code seconds".
probe() {
    local out=$WORK/probe-$1.txt
    while :; do
        local t r
        t=$(date +%s.%N)
        case $1 in
            order) r=$(order_once "probe-$t") ;;
            lesson) r=$(get_once "$LESSON_PATH" "$LESSON_COOKIE") ;;
            form) r=$(curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' -m 30 -H "Cookie: $LESSON_COOKIE" \
                      --data-urlencode "csrf=$LESSON_CSRF" "$BASE$LESSON_PATH/complete" 2>/dev/null || echo "000 30") ;;
            health) r=$(get_once /healthz) ;;
        esac
        echo "$t $r" >>"$out"
        sleep 0.2
    done
}

pg_down_check() {
    local version cluster=main
    version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -1)
    if [ -z "$version" ] || ! command -v pg_ctlcluster >/dev/null; then
        skip "postgres down" "no local PostgreSQL cluster (ls /etc/postgresql, pg_ctlcluster)"; return
    fi
    case $PG_URL in
        *@127.0.0.1*|*@localhost*|*@\[::1\]*) ;;
        *) skip "postgres down" "the URL is not a local cluster; pg_ctlcluster cannot stop it"; return ;;
    esac
    new_run pg-down "$PG_URL"
    start_server
    prepare_flash_sale
    local session
    session=$(login trainee@kaibo.example "$(demo_password trainee@kaibo.example)")
    LESSON_COOKIE=${session%%|*}
    LESSON_CSRF=${session#*|}
    curl -sS -H "Cookie: $LESSON_COOKIE" -o "$WORK/course.html" "$BASE/courses/first-live-sale"
    LESSON_PATH=$(grep -o 'href="/courses/first-live-sale/[^/"]*/[^/"]*"' "$WORK/course.html" \
        | grep -v '/quiz"' | grep -v '/assets/' | head -1 | sed 's/^href="//; s/"$//')
    local pid_before=$SERVER_PID others
    others=$(psql -X -A -t "$PG_URL" -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND datname NOT LIKE 'kaibo_load_%'" 2>/dev/null || echo "?")
    log "other clients on the cluster right now: $others (they lose their connections too)"

    local total=$((5 + FAULT_DOWN_SECONDS + 25))
    LOAD_SHOP=$SHOP LOAD_SKU_IDS=$SKUS LOAD_HOT_SKU=$HOT_SKU LOAD_DEAL=$DEAL \
        wrk -t2 -c16 -d"${total}s" --timeout 30s -s "$LOAD_LUA_DIR/buyer.lua" "$BASE" >"$WORK/wrk.out" 2>&1 &
    local wrk_pid=$!
    BG_PIDS+=("$wrk_pid")
    local p1 p2 p3 p4
    probe order & p1=$!; probe lesson & p2=$!; probe health & p3=$!; probe form & p4=$!
    BG_PIDS+=("$p1" "$p2" "$p3" "$p4")
    sleep 5
    local stop_call stopped_at start_call up_at
    stop_call=$(date +%s.%N)
    log "pg_ctlcluster $version $cluster stop"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" stop || check "postgres down" 0 "pg_ctlcluster stop failed"
    stopped_at=$(date +%s.%N)
    sleep "$FAULT_DOWN_SECONDS"
    start_call=$(date +%s.%N)
    log "pg_ctlcluster $version $cluster start"
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || check "postgres down" 0 "pg_ctlcluster start failed"
    up_at=$(date +%s.%N)
    wait "$wrk_pid" 2>/dev/null
    kill "$p1" "$p2" "$p3" "$p4" 2>/dev/null; wait "$p1" "$p2" "$p3" "$p4" 2>/dev/null
    BG_PIDS=()

    echo "    PostgreSQL stopping for $(awk -v a="$stop_call" -v b="$stopped_at" 'BEGIN { printf "%.1f", b - a }') s, then down for $(awk -v a="$stopped_at" -v b="$start_call" 'BEGIN { printf "%.1f", b - a }') s, starting took $(awk -v a="$start_call" -v b="$up_at" 'BEGIN { printf "%.1f", b - a }') s"
    local kind
    for kind in order lesson form health; do
        local f=$WORK/probe-$kind.txt during first_ok worst codes_during codes_stopping codes_after
        local ok_code=200; [ "$kind" = order ] && ok_code=201; [ "$kind" = form ] && ok_code=303
        # Requests sent while PostgreSQL was down, and while it was shutting down.
        during=$(awk -v a="$stopped_at" -v b="$start_call" '$1 >= a && $1 < b' "$f")
        codes_during=$(echo "$during" | awk 'NF { c[$2]++ } END { for (k in c) printf "%s:%d ", k, c[k] }')
        codes_stopping=$(awk -v a="$stop_call" -v b="$stopped_at" '$1 >= a && $1 < b { c[$2]++ } END { for (k in c) printf "%s:%d ", k, c[k] }' "$f")
        worst=$(awk -v a="$stop_call" -v b="$up_at" '$1 >= a && $1 < b && $3 > m { m = $3 } END { printf "%.2f", m }' "$f")
        first_ok=$(awk -v b="$up_at" -v ok="$ok_code" '$1 + $3 >= b && $2 == ok { printf "%.1f", $1 + $3 - b; exit }' "$f")
        codes_after=$(awk -v b="$up_at" -v r="${FAULT_RECOVERY_SECONDS}" '$1 >= b + r { c[$2]++ } END { for (k in c) printf "%s:%d ", k, c[k] }' "$f")
        local clean=1
        # A request sent while it was down may still succeed if PostgreSQL came back while
        # it waited for a connection; anything else must be 503.
        echo "$during" | awk -v back="$start_call" -v ok="$ok_code" \
            'NF && $2 != 503 && !($2 == ok && $1 + $3 >= back) { bad = 1 } END { exit bad }' || clean=0
        [ -n "$during" ] || clean=0
        awk '$2 >= 500 && $2 != 503 { bad = 1 } END { exit bad }' "$f" || clean=0
        awk -v w="$worst" -v m="$FAULT_MAX_SECONDS" 'BEGIN { exit !(w <= m) }' || clean=0
        check "postgres down ($kind): 503 while down, no 500, no hang" "$clean" \
            "sent while down: ${codes_during:-none}; while stopping: ${codes_stopping:-none}; slowest answer ${worst} s (limit ${FAULT_MAX_SECONDS} s); all: $(awk '{ c[$2]++ } END { for (k in c) printf "%s:%d ", k, c[k] }' "$f")"
        local back=0
        [ -n "$first_ok" ] && awk -v f="$first_ok" -v r="$FAULT_RECOVERY_SECONDS" 'BEGIN { exit !(f <= r) }' && back=1
        echo "$codes_after" | grep -qvE "^($ok_code:[0-9]+ ?)*$" && back=0
        check "postgres down ($kind): succeeds again once it is back" "$back" \
            "first $ok_code ${first_ok:-never} s after PostgreSQL was up; answers from ${FAULT_RECOVERY_SECONDS} s on: ${codes_after:-none}"
    done
    local s500
    s500=$(result_field "$WORK/wrk.out" codes | tr ',' '\n' | awk -F: '$1 >= 500 && $1 != 503 { n += $2 } END { print n + 0 }')
    check "postgres down (order load): no 5xx other than 503" "$([ "$s500" = 0 ] && echo 1 || echo 0)" \
        "wrk, 16 connections: codes $(result_field "$WORK/wrk.out" codes); timeouts $(result_field "$WORK/wrk.out" timeouts)"
    check "postgres down: the same server process throughout" \
        "$([ "$SERVER_PID" = "$pid_before" ] && kill -0 "$SERVER_PID" 2>/dev/null && echo 1 || echo 0)" "pid $SERVER_PID"
    server_problems | sed 's/^/    /'
}

# ------------------------------------------------------------------ (c) disk full
disk_full_check() {
    local mnt=$ROOT_WORK/small-disk how
    mkdir -p "$mnt"
    if mount -t tmpfs -o "size=${FAULT_TMPFS_MB}m" tmpfs "$mnt" 2>/dev/null; then
        how="tmpfs of ${FAULT_TMPFS_MB} MiB"
    else
        truncate -s "${FAULT_TMPFS_MB}M" "$ROOT_WORK/small-disk.img"
        mkfs.ext4 -q "$ROOT_WORK/small-disk.img" 2>/dev/null \
            && LOOPDEV=$(losetup -f --show "$ROOT_WORK/small-disk.img" 2>/dev/null) \
            && mount "$LOOPDEV" "$mnt" 2>/dev/null && how="loop-mounted ext4 image of ${FAULT_TMPFS_MB} MiB"
    fi
    if [ -z "${how:-}" ]; then
        skip "disk full" "neither a tmpfs nor a loop device can be mounted here"; return
    fi
    MOUNTED=$mnt
    DATA_OVERRIDE=$mnt/data new_run disk-full
    LOAD_CATALOG_SKUS=2000 start_server
    prepare_flash_sale
    local session lesson
    session=$(login trainee@kaibo.example "$(demo_password trainee@kaibo.example)")
    LESSON_COOKIE=${session%%|*}
    local csrf=${session#*|}
    curl -sS -H "Cookie: $LESSON_COOKIE" -o "$WORK/course.html" "$BASE/courses/first-live-sale"
    lesson=$(grep -o 'href="/courses/first-live-sale/[^/"]*/[^/"]*"' "$WORK/course.html" \
        | grep -v '/quiz"' | grep -v '/assets/' | head -1 | sed 's/^href="//; s/"$//')
    echo "    data folder on a $how: $(df -h --output=used,avail "$mnt" | tail -1 | awk '{ print $1 " used, " $2 " free" }') before filling"

    # Fill the file system.
    dd if=/dev/zero of="$mnt/filler" bs=1M status=none 2>/dev/null || true
    dd if=/dev/zero of="$mnt/filler2" bs=4k status=none 2>/dev/null || true
    echo "    filled: $(df --output=avail -B1 "$mnt" | tail -1) bytes free"

    # Writes until one is refused (the WAL may still hold some free pages).
    local i answer code first_fail="" n_ok=0 codes=""
    for i in $(seq 1 3000); do
        answer=$(order_once "full-$i")
        code=${answer% *}
        codes="$codes $code"
        if [ "$code" = 201 ]; then n_ok=$((n_ok + 1)); continue; fi
        first_fail=$answer
        break
    done
    local body; body=$(head -c 300 "$WORK/last-order.json")
    local more=()
    for i in 1 2 3 4 5; do more+=("$(order_once "full-more-$i")"); done
    local clean=0
    case ${first_fail% *} in 503|507) grep -q '"message"' "$WORK/last-order.json" && clean=1 ;; esac
    awk -v t="${first_fail#* }" -v m="$FAULT_MAX_SECONDS" 'BEGIN { exit !(t <= m) }' || clean=0
    for a in "${more[@]}"; do case ${a% *} in 503|507) ;; *) clean=0 ;; esac; done
    check "disk full: order writes fail cleanly (503/507 with a message)" "$clean" \
        "$n_ok orders still committed after filling, then: ${first_fail:-no refusal after 3000 orders} (code seconds); body: ${body:-empty}; the next 5: ${more[*]}"

    # A form write: submit the quiz.
    local qcode
    qcode=$(curl -sS -o "$WORK/quiz-full.html" -w '%{http_code}' -m 30 -H "Cookie: $LESSON_COOKIE" \
        --data-urlencode "csrf=$csrf" "$BASE${lesson}/complete" 2>/dev/null || echo 000)
    local qmsg; qmsg=$(grep -o '<h1[^>]*>[^<]*</h1>' "$WORK/quiz-full.html" | head -1 | sed 's/<[^>]*>//g')
    check "disk full: a form write (lesson complete) fails cleanly" \
        "$(case $qcode in 503|507) echo 1 ;; *) echo 0 ;; esac)" "POST ${lesson}/complete answered $qcode: \"$qmsg\""

    # Reads.
    local r1 r2 r3
    r1=$(get_once "$lesson" "$LESSON_COOKIE"); r2=$(get_once "/shop/$SHOP"); r3=$(get_once /healthz)
    check "disk full: reads keep working" \
        "$([ "${r1% *}" = 200 ] && [ "${r2% *}" = 200 ] && [ "${r3% *}" = 200 ] && echo 1 || echo 0)" \
        "lesson ${r1% *}, shop page ${r2% *}, /healthz ${r3% *}"
    # A logged-in page once the session's last-seen time is due to be written again
    # (every 60 s): the read itself then needs a small write.
    log "waiting 61 s with the disk still full"
    sleep 61
    r1=$(get_once "$lesson" "$LESSON_COOKIE")
    local title; title=$(grep -o '<h1[^>]*>[^<]*</h1>' "$WORK/last-get.html" | head -1 | sed 's/<[^>]*>//g')
    check "disk full: a logged-in read after 61 s (session last-seen update due)" \
        "$([ "${r1% *}" = 200 ] && echo 1 || echo 0)" "GET $lesson answered ${r1% *} in ${r1#* } s: \"$title\""

    # Space returns.
    rm -f "$mnt/filler" "$mnt/filler2"
    sleep 1
    local after q2
    after=$(order_once after-space)
    q2=$(curl -sS -o /dev/null -w '%{http_code}' -m 30 -H "Cookie: $LESSON_COOKIE" --data-urlencode "csrf=$csrf" "$BASE${lesson}/complete" 2>/dev/null || echo 000)
    check "disk full: writes succeed again once space returns (no restart)" \
        "$([ "${after% *}" = 201 ] && [ "$q2" = 303 ] && kill -0 "$SERVER_PID" 2>/dev/null && echo 1 || echo 0)" \
        "POST /api/orders ${after% *}, lesson complete $q2"
    local integrity
    integrity=$(sql "PRAGMA integrity_check" 2>&1 | head -3 | paste -sd' ' -)
    check "disk full: database intact afterwards" "$([ "$integrity" = ok ] && echo 1 || echo 0)" "PRAGMA integrity_check: $integrity"
    server_problems | sed 's/^/    /'
    stop_server
}

# ------------------------------------------------------------------ run
case " $FAULT_ONLY " in *" a "*)
    echo "== (a) kill -9 during an order load"
    crash_check sqlite
    if [ -n "$PG_URL" ]; then crash_check postgres "$PG_URL"; else skip "crash (postgres)" "no PostgreSQL URL given"; fi
;; esac
case " $FAULT_ONLY " in *" b "*)
    echo "== (b) PostgreSQL stopped for ${FAULT_DOWN_SECONDS} s during an order load"
    if [ -n "$PG_URL" ]; then pg_down_check; else skip "postgres down" "no PostgreSQL URL given"; fi
;; esac
case " $FAULT_ONLY " in *" c "*)
    echo "== (c) SQLite on a full disk"
    disk_full_check
;; esac

echo
echo "== summary"
printf '%s\n' "${RESULTS[@]}"
if [ "$FAILED" = 1 ]; then echo "faults: FAIL"; exit 1; fi
echo "faults: PASS"
