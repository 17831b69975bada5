#!/usr/bin/env bash
# Mixed load against a release build: three journeys at once, for LOAD_SECONDS (5 min).
#
#   (a) trainees     logged-in sessions reading lessons, marking them complete, opening
#                    and submitting the first module's quiz, the dashboard and course page
#                    (benches/load/trainee.lua)
#   (b) buyers       a live show's buyers placing JSON orders on POST /api/orders, one in
#                    ten for a hot flash-deal SKU (benches/load/buyer.lua)
#   (c) instructors  the cohort progress page, the quizzes' item analysis, one trainee's
#                    drill-down and the course list (benches/load/instructor.lua)
#
# Usage (from the repository, after `cargo build --release --bin kaibo`; needs wrk, curl,
# python3, and sqlite3 or psql):
#
#   scripts/load.sh                                              # SQLite in a temporary folder
#   scripts/load.sh postgres://postgres@127.0.0.1:5432/test       # PostgreSQL: a fresh database
#                                                                # is created next to this one
#                                                                # and dropped at the end
#
# Settings (environment, defaults in brackets):
#   LOAD_SECONDS [300]             length of the load
#   LOAD_WARMUP_SECONDS [60]       memory growth is measured from the first sample after this
#   LOAD_SAMPLE_SECONDS [10]       how often the server's resident memory is sampled
#   LOAD_RSS_GROWTH_MB [32]        fail when RSS grows more than this after the warm-up
#   LOAD_TRAINEES [40]             trainee accounts, each logged in once
#   LOAD_TRAINEE_CONNECTIONS [32], LOAD_BUYER_CONNECTIONS [32], LOAD_INSTRUCTOR_CONNECTIONS [4]
#   LOAD_JOURNEYS ["trainees buyers instructors"]  which journeys run (e.g. one alone)
#   LOAD_CATALOG_SKUS [20000]      demo catalog size
#   LOAD_POOL_SIZE                 the server's pool_size (default: the server's own, 8)
#   LOAD_SERVER_ENV                more server settings, e.g. "KAIBO_WORKERS=4 KAIBO_LOG=warn"
#   LOAD_BIN [target/release/kaibo] the server binary
#   KEEP=1                         keep the temporary folder and the PostgreSQL database
#
# Set up with the product's own paths only: the first start seeds the demo accounts and the
# demo trainee's live shop; trainees are created with `kaibo user create`; the shop's SKUs
# get 10 million units and a flash deal is inserted with SQL, as benches/order_placement.rs
# does. All logins come from 127.0.0.1, so the server runs with a high per-address login
# limit (KAIBO_LOGIN_ATTEMPTS_PER_ADDRESS=10000); nothing else is changed.
#
# Prints per journey: requests/s, p50 / p99 / p99.9 latency, answers by status class and
# code, socket errors; for the orders a database check (no stock below zero, the deal's
# sold count equals its units in orders, at least as many orders as acknowledgements);
# the server's RSS every LOAD_SAMPLE_SECONDS, its peak (VmHWM) and its growth after the
# warm-up; panics and ERROR lines of the server's log.
#
# Exit status: 0 when every check passes; 1 on any 5xx answer, a failed order check, a
# panic, a socket timeout, or RSS growth above LOAD_RSS_GROWTH_MB after the warm-up;
# 2 when the run could not be set up.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

LOAD_SECONDS=${LOAD_SECONDS:-300}
LOAD_WARMUP_SECONDS=${LOAD_WARMUP_SECONDS:-60}
LOAD_SAMPLE_SECONDS=${LOAD_SAMPLE_SECONDS:-10}
LOAD_RSS_GROWTH_MB=${LOAD_RSS_GROWTH_MB:-32}
LOAD_TRAINEES=${LOAD_TRAINEES:-40}
LOAD_TRAINEE_CONNECTIONS=${LOAD_TRAINEE_CONNECTIONS:-32}
LOAD_BUYER_CONNECTIONS=${LOAD_BUYER_CONNECTIONS:-32}
LOAD_INSTRUCTOR_CONNECTIONS=${LOAD_INSTRUCTOR_CONNECTIONS:-4}
LOAD_JOURNEYS=${LOAD_JOURNEYS:-trainees buyers instructors}
COURSE=first-live-sale

need_tools wrk curl python3
need_binary
[ "$LOAD_WARMUP_SECONDS" -lt "$LOAD_SECONDS" ] || die "LOAD_WARMUP_SECONDS must be shorter than LOAD_SECONDS"

make_workdir kaibo-load
SAMPLER_PID=""
cleanup() {
    [ -z "$SAMPLER_PID" ] || kill "$SAMPLER_PID" 2>/dev/null || true
    stop_server
    drop_database
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
use_database "${1:-}"

server_env=(KAIBO_LOGIN_ATTEMPTS_PER_ADDRESS=10000)
[ -z "${LOAD_POOL_SIZE:-}" ] || server_env+=(KAIBO_POOL_SIZE="$LOAD_POOL_SIZE")
log "starting the server (first start: migrations, demo accounts, ${LOAD_CATALOG_SKUS:-20000}-SKU catalog)"
start_server "${server_env[@]}"

# ------------------------------------------------------------------ set-up
prepare_flash_sale

log "creating and logging in $LOAD_TRAINEES trainees"
TRAINEE_SESSIONS=()
for i in $(seq 1 "$LOAD_TRAINEES"); do
    create_account "load-trainee-$i@example.com" trainee "Load Trainee $i"
    TRAINEE_SESSIONS+=("$(login "load-trainee-$i@example.com" "$LOAD_PASSWORD")")
done
INSTRUCTOR_SESSION=$(login instructor@kaibo.example "$(demo_password instructor@kaibo.example)")

# The first module's lessons and quiz, from the course page as a trainee sees it.
first=${TRAINEE_SESSIONS[0]}
curl -sS -H "Cookie: ${first%%|*}" -o "$WORK/course.html" "$BASE/courses/$COURSE"
MODULE=$(grep -o "href=\"/courses/$COURSE/[^/\"]*/[^/\"]*\"" "$WORK/course.html" \
    | grep -v '/quiz"' | grep -v '/assets/' | head -1 | cut -d/ -f4)
[ -n "$MODULE" ] || die "no lesson link on /courses/$COURSE"
LESSONS=$(grep -o "href=\"/courses/$COURSE/$MODULE/[^/\"]*\"" "$WORK/course.html" \
    | sed 's/^href="//; s/"$//' | grep -v '/quiz$' | sort -u | paste -sd, -)
QUIZ_PATH=/courses/$COURSE/$MODULE/quiz
curl -sS -H "Cookie: ${first%%|*}" -o "$WORK/quiz.html" "$BASE$QUIZ_PATH"
QUIZ_SPEC=$(python3 - "$WORK/quiz.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
questions = {}
for tag in re.findall(r"<input\b[^>]*>", html):
    name = re.search(r'\bname="(q-[^"]+)"', tag)
    if not name:
        continue
    kind = re.search(r'\btype="([^"]+)"', tag)
    kind = kind.group(1) if kind else "text"
    value = re.search(r'\bvalue="([^"]*)"', tag)
    q = questions.setdefault(name.group(1), [kind, []])
    if kind in ("radio", "checkbox") and value:
        q[1].append(value.group(1))
print(";".join(f"{n}:{k}:{'/'.join(v)}" for n, (k, v) in questions.items()))
PY
)
[ -n "$QUIZ_SPEC" ] || die "no question on $QUIZ_PATH"
log "trainee journey: module $MODULE, lessons $LESSONS; quiz $(echo "$QUIZ_SPEC" | tr ';' '\n' | wc -l) questions"

# Every trainee opens a lesson and answers the quiz once before the load, so that the
# instructor pages have a cohort from the first request.
for s in "${TRAINEE_SESSIONS[@]}"; do
    cookie=${s%%|*}; csrf=${s#*|}
    curl -sS -o /dev/null -H "Cookie: $cookie" "$BASE${LESSONS%%,*}"
    body=$(python3 - "$csrf" "$QUIZ_SPEC" <<'PY'
import random, sys, urllib.parse
csrf, spec = sys.argv[1], sys.argv[2]
fields = [("csrf", csrf)]
for q in spec.split(";"):
    name, kind, options = q.split(":", 2)
    options = [o for o in options.split("/") if o]
    fields.append((name, random.choice(options) if options else "practise"))
print(urllib.parse.urlencode(fields))
PY
)
    code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" --data "$body" "$BASE$QUIZ_PATH")
    [ "$code" = 303 ] || die "submitting the quiz answered $code (expected 303)"
done
curl -sS -H "Cookie: ${INSTRUCTOR_SESSION%%|*}" -o "$WORK/cohort.html" "$BASE/instructor/courses/$COURSE/progress"
MODULES=$(grep -o "/instructor/courses/$COURSE/quizzes/[^\"?/]*" "$WORK/cohort.html" "$WORK/course.html" 2>/dev/null \
    | sed 's#.*/quizzes/##' | sort -u | paste -sd, -)
[ -n "$MODULES" ] || MODULES=$MODULE
TRAINEE_IDS=$(sql "SELECT id FROM users WHERE email LIKE 'load-trainee-%' ORDER BY id" | paste -sd, -)

# ------------------------------------------------------------------ the load
backend=$(backend_name)
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
metrics_snapshot "$WORK/metrics-before.txt"
log "running the mixed load for $LOAD_SECONDS s on $backend (RSS sampled every $LOAD_SAMPLE_SECONDS s)"
: >"$WORK/rss.txt"
(
    start=$(date +%s)
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        printf '%s %s\n' "$(( $(date +%s) - start ))" "$(rss_kb "$SERVER_PID")" >>"$WORK/rss.txt"
        sleep "$LOAD_SAMPLE_SECONDS"
    done
) &
SAMPLER_PID=$!

common_wrk=(--latency --timeout 10s -d "${LOAD_SECONDS}s")
wrk_pids=()
for j in $LOAD_JOURNEYS; do
    case $j in
        trainees)
            LOAD_SESSIONS=$(IFS=,; echo "${TRAINEE_SESSIONS[*]}") LOAD_LESSONS=$LESSONS \
            LOAD_QUIZ_PATH=$QUIZ_PATH LOAD_QUIZ=$QUIZ_SPEC \
                wrk -t2 -c"$LOAD_TRAINEE_CONNECTIONS" "${common_wrk[@]}" -s "$LOAD_LUA_DIR/trainee.lua" "$BASE" \
                >"$WORK/trainees.out" 2>&1 & ;;
        buyers)
            LOAD_SHOP=$SHOP LOAD_SKU_IDS=$SKUS LOAD_HOT_SKU=$HOT_SKU LOAD_DEAL=$DEAL \
                wrk -t2 -c"$LOAD_BUYER_CONNECTIONS" "${common_wrk[@]}" -s "$LOAD_LUA_DIR/buyer.lua" "$BASE" \
                >"$WORK/buyers.out" 2>&1 & ;;
        instructors)
            LOAD_SESSIONS=$INSTRUCTOR_SESSION LOAD_COURSE=$COURSE LOAD_MODULES=$MODULES LOAD_TRAINEE_IDS=$TRAINEE_IDS \
                wrk -t1 -c"$LOAD_INSTRUCTOR_CONNECTIONS" "${common_wrk[@]}" -s "$LOAD_LUA_DIR/instructor.lua" "$BASE" \
                >"$WORK/instructors.out" 2>&1 & ;;
        *) die "unknown journey $j in LOAD_JOURNEYS" ;;
    esac
    wrk_pids+=($!)
done
wait "${wrk_pids[@]}" || true
sleep 1
kill "$SAMPLER_PID" 2>/dev/null || true
wait "$SAMPLER_PID" 2>/dev/null || true
SAMPLER_PID=""
printf '%s %s\n' "$LOAD_SECONDS+" "$(rss_kb "$SERVER_PID")" >>"$WORK/rss.txt"
HWM=$(hwm_kb "$SERVER_PID")
LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
metrics_snapshot "$WORK/metrics-after.txt"
alive=yes; kill -0 "$SERVER_PID" 2>/dev/null || alive=no

# ------------------------------------------------------------------ report
failures=()
echo
echo "== mixed load, $backend, ${LOAD_SECONDS} s, release build (machine: $(nproc) CPUs; wrk and the server share them)"
echo "connections: trainees $LOAD_TRAINEE_CONNECTIONS ($LOAD_TRAINEES sessions), buyers $LOAD_BUYER_CONNECTIONS, instructors $LOAD_INSTRUCTOR_CONNECTIONS; load average before $LOADAVG_BEFORE, at the end $LOADAVG_AFTER"
printf '%-12s %8s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n' \
    journey requests 'req/s' 'p50 ms' 'p99 ms' 'p99.9 ms' 'max ms' 2xx 3xx 4xx 5xx
total_rps=0
for j in $LOAD_JOURNEYS; do
    f=$WORK/$j.out
    if ! grep -q '^RESULT ' "$f"; then
        echo "$j: wrk printed no result:"; sed 's/^/    /' "$f"
        failures+=("$j: no result from wrk")
        continue
    fi
    printf '%-12s %8s %9s %9s %9s %9s %9s %8s %8s %8s %8s\n' "$j" \
        "$(result_field "$f" requests)" "$(result_field "$f" rps)" "$(result_field "$f" p50_ms)" \
        "$(result_field "$f" p99_ms)" "$(result_field "$f" p999_ms)" "$(result_field "$f" max_ms)" \
        "$(result_field "$f" s2xx)" "$(result_field "$f" s3xx)" "$(result_field "$f" s4xx)" "$(result_field "$f" s5xx)"
    total_rps=$(awk -v a="$total_rps" -v b="$(result_field "$f" rps)" 'BEGIN { printf "%.1f", a + b }')
done
echo "all journeys: $total_rps requests/s"
for j in $LOAD_JOURNEYS; do
    f=$WORK/$j.out
    grep -q '^RESULT ' "$f" || continue
    echo "$j: status codes $(result_field "$f" codes); socket errors: connect $(result_field "$f" connect_errors), read $(result_field "$f" read_errors), write $(result_field "$f" write_errors), timeouts $(result_field "$f" timeouts)"
    [ "$(result_field "$f" s5xx)" = 0 ] || failures+=("$j: $(result_field "$f" s5xx) answers 5xx")
    [ "$(result_field "$f" timeouts)" = 0 ] || failures+=("$j: $(result_field "$f" timeouts) requests timed out (10 s)")
    non_ok=$(( $(result_field "$f" s4xx) + $(result_field "$f" s5xx) ))
    [ "$j" = buyers ] || [ "$non_ok" = 0 ] || failures+=("$j: $non_ok answers 4xx/5xx (none expected)")
done

# Orders: the database agrees with what wrk was told.
if [ -f "$WORK/buyers.out" ] && grep -q '^RESULT ' "$WORK/buyers.out"; then
    acknowledged=$(result_field "$WORK/buyers.out" s2xx)
    placed=$(sql "SELECT count(*) FROM orders WHERE shop_user_id = $SHOP_USER")
    negative=$(sql "SELECT count(*) FROM skus WHERE stock < 0")
    deal=$(sql "SELECT sold || ' ' || quantity FROM flash_deals WHERE id = $DEAL")
    deal_units=$(sql "SELECT coalesce(sum(l.quantity), 0) FROM order_lines l JOIN orders o ON o.id = l.order_id
                      WHERE l.deal_id = $DEAL AND o.status NOT IN ('payment_failed', 'cancelled')")
    echo "orders: $placed in the database for $acknowledged acknowledged (2xx); SKUs below zero: $negative; deal sold ${deal% *} of ${deal#* }, $deal_units units in orders"
    [ "$placed" -ge "$acknowledged" ] || failures+=("orders: $placed in the database < $acknowledged acknowledged")
    [ "$negative" = 0 ] || failures+=("orders: $negative SKUs below zero")
    [ "${deal% *}" = "$deal_units" ] || failures+=("orders: deal sold ${deal% *} but $deal_units units in orders")
fi

# Memory.
echo "server RSS (MiB) every ${LOAD_SAMPLE_SECONDS} s: $(awk '{ printf "%s%s:%.1f", sep, $1, $2 / 1024; sep = " " }' "$WORK/rss.txt")"
warm=$(awk -v w="$LOAD_WARMUP_SECONDS" '$1 + 0 >= w && $2 != "" { print $2; exit }' "$WORK/rss.txt")
last=$(awk '$2 != "" { v = $2 } END { print v }' "$WORK/rss.txt")
max_after=$(awk -v w="$LOAD_WARMUP_SECONDS" '$1 + 0 >= w && $2 > m { m = $2 } END { print m + 0 }' "$WORK/rss.txt")
growth_kb=$(( ${last:-0} - ${warm:-0} ))
echo "server memory: peak VmHWM $(mib "${HWM:-0}") MiB; RSS after the ${LOAD_WARMUP_SECONDS} s warm-up $(mib "${warm:-0}") MiB, at the end $(mib "${last:-0}") MiB, highest after warm-up $(mib "$max_after") MiB: growth $(mib "$growth_kb") MiB (limit $LOAD_RSS_GROWTH_MB MiB)"
[ "$growth_kb" -le $(( LOAD_RSS_GROWTH_MB * 1024 )) ] || failures+=("memory: RSS grew $(mib "$growth_kb") MiB after the warm-up (limit $LOAD_RSS_GROWTH_MB)")
if [ "$alive" != yes ]; then
    failures+=("the server was not running at the end")
    echo "the server exited during the load; the end of its log:"
    tail -5 "$SERVER_LOG" | cut -c1-300 | sed 's/^/    /'
fi

metrics_report "$WORK/metrics-before.txt" "$WORK/metrics-after.txt"
server_problems
grep -q 'panicked' "$SERVER_LOG" && failures+=("the server panicked (see its log)")
if [ "${KEEP:-0}" = 1 ]; then echo "wrk outputs and the server log are in $WORK"; fi

echo
if [ ${#failures[@]} -eq 0 ]; then
    echo "load ($backend): PASS"
    exit 0
fi
echo "load ($backend): FAIL"
printf '  - %s\n' "${failures[@]}"
exit 1
