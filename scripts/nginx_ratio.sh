#!/usr/bin/env bash
# The authenticated lesson page against a static file served by nginx on the same machine.
#
# Design target: the authenticated lesson page serves >= 0.5 x the requests/s of a static
# file, with p99 <= 20 ms, at 64 connections.
#
# What it does: starts the release server on a fresh database (SQLite in a temporary
# folder, or PostgreSQL when a URL is given), logs a trainee in with curl, saves the
# lesson page exactly as that trainee gets it, and has nginx (Debian package, its own
# temporary config and port, nothing under /etc touched) serve that saved page as a
# static file, so both answers have the same size. Then wrk, with the same threads and
# 64 connections, keep-alive, no pipelining, no Lua script: first a short warm-up of each,
# then NGINX_SECONDS against nginx and NGINX_SECONDS against Kaibo's lesson page with the
# session cookie (never both at once). Every request to Kaibo is the real page: session
# lookup, module gating, the lesson visit written to the database, rendering.
#
# Usage (after `cargo build --release --bin kaibo`; needs wrk, nginx, curl, python3 and
# sqlite3 or psql):
#
#   scripts/nginx_ratio.sh                                          # SQLite
#   scripts/nginx_ratio.sh postgres://postgres@127.0.0.1:5432/test   # PostgreSQL (fresh
#                                                                    # database, dropped after)
#
# Settings: NGINX_SECONDS [30], NGINX_CONNECTIONS [64], NGINX_THREADS [2], KEEP=1,
# LOAD_BIN (the server binary, default target/release/kaibo), NGINX_BIN.
# nginx runs `worker_processes auto` (one per core) and Kaibo its default workers (one per
# core), both with access logging off (Kaibo logs no line per request).
#
# Prints both requests/s and p99, the ratio, and whether the target is met. Exit status 0
# when met, 1 when missed (or when Kaibo answered anything but 200), 2 on a set-up error.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

NGINX_SECONDS=${NGINX_SECONDS:-30}
NGINX_CONNECTIONS=${NGINX_CONNECTIONS:-64}
NGINX_THREADS=${NGINX_THREADS:-2}
NGINX_BIN=${NGINX_BIN:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX_BIN" ] || die "nginx is not installed (Debian: apt-get install -y nginx)"
need_tools wrk curl python3
need_binary

make_workdir kaibo-nginx
NGINX_PID=""
cleanup() {
    if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; wait "$NGINX_PID" 2>/dev/null || true; fi
    stop_server
    drop_database
    if [ "${KEEP:-0}" = 1 ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
use_database "${1:-}"
start_server

# A trainee's session and the first lesson of the course, as the trainee gets it.
session=$(login trainee@kaibo.example "$(demo_password trainee@kaibo.example)")
cookie=${session%%|*}
curl -sS -H "Cookie: $cookie" -o "$WORK/course.html" "$BASE/courses/first-live-sale"
LESSON=$(grep -o 'href="/courses/first-live-sale/[^/"]*/[^/"]*"' "$WORK/course.html" \
    | grep -v '/quiz"' | grep -v '/assets/' | head -1 | sed 's/^href="//; s/"$//')
[ -n "$LESSON" ] || die "no lesson link on the course page"
mkdir -p "$WORK/www" "$WORK/nginx"
code=$(curl -sS -H "Cookie: $cookie" -o "$WORK/www/lesson.html" -w '%{http_code}' "$BASE$LESSON")
[ "$code" = 200 ] || die "GET $LESSON with the session answered $code"
grep -q 'name="csrf"' "$WORK/www/lesson.html" || die "the lesson page is not the logged-in page"
size=$(stat -c %s "$WORK/www/lesson.html")
log "lesson $LESSON: $size bytes (uncompressed; wrk asks for no compression)"

# nginx with its own config, prefix, port and temporary folders.
chmod 755 "$WORK" "$WORK/www"; chmod 644 "$WORK/www/lesson.html"
NGINX_PORT=$(free_port)
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 75s;
    types { text/html html; }
    default_type application/octet-stream;
    client_body_temp_path $WORK/nginx/body;
    proxy_temp_path $WORK/nginx/proxy;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/www;
    }
}
EOF
"$NGINX_BIN" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' 2>"$WORK/nginx/stderr.log" &
NGINX_PID=$!
for _ in $(seq 1 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$NGINX_PORT/lesson.html" 2>/dev/null && break
    sleep 0.1
done
static_size=$(curl -fsS "http://127.0.0.1:$NGINX_PORT/lesson.html" | wc -c) || die "nginx does not serve the file: $(cat "$WORK/nginx/stderr.log")"
log "nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*: //') pid $NGINX_PID on port $NGINX_PORT serves $static_size bytes"

run_wrk() { # NAME SECONDS URL [wrk args...]
    local name=$1 seconds=$2 url=$3; shift 3
    wrk -t"$NGINX_THREADS" -c"$NGINX_CONNECTIONS" -d"${seconds}s" --latency --timeout 10s "$@" "$url" >"$WORK/$name.out" 2>&1
}
log "warm-up: 5 s each"
run_wrk warm-nginx 5 "http://127.0.0.1:$NGINX_PORT/lesson.html"
run_wrk warm-kaibo 5 "$BASE$LESSON" -H "Cookie: $cookie"
LOADAVG_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "nginx: ${NGINX_SECONDS} s, $NGINX_THREADS threads, $NGINX_CONNECTIONS connections"
run_wrk nginx "$NGINX_SECONDS" "http://127.0.0.1:$NGINX_PORT/lesson.html"
log "kaibo: ${NGINX_SECONDS} s, $NGINX_THREADS threads, $NGINX_CONNECTIONS connections"
run_wrk kaibo "$NGINX_SECONDS" "$BASE$LESSON" -H "Cookie: $cookie"

LOADAVG_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
# The session must still be valid and the page the logged-in lesson: a redirect to the
# login page would count as a success in wrk's figures.
code=$(curl -sS -H "Cookie: $cookie" -o "$WORK/after.html" -w '%{http_code}' "$BASE$LESSON")

rps() { awk '/^Requests\/sec:/ { print $2 }' "$WORK/$1.out"; }
p() { wrk_ms "$(awk -v l="$2%" '$1 == l { print $2 }' "$WORK/$1.out")"; }
errs() { awk '/Non-2xx or 3xx responses:/ { print $NF }' "$WORK/$1.out"; }
sock() { grep -o 'Socket errors:.*' "$WORK/$1.out" || echo "Socket errors: none"; }

n_rps=$(rps nginx); k_rps=$(rps kaibo)
n_p99=$(p nginx 99); k_p99=$(p kaibo 99)
ratio=$(awk -v k="$k_rps" -v n="$n_rps" 'BEGIN { printf "%.3f", k / n }')
k_errs=$(errs kaibo); n_errs=$(errs nginx)
echo
echo "== authenticated lesson page vs static file, $(backend_name), $NGINX_THREADS threads, $NGINX_CONNECTIONS connections, ${NGINX_SECONDS} s each, $size bytes"
echo "load average before $LOADAVG_BEFORE, after $LOADAVG_AFTER ($(nproc) CPUs; wrk runs on the same machine)"
printf '%-8s %10s %9s %9s %9s %s\n' server 'req/s' 'p50 ms' 'p90 ms' 'p99 ms' 'errors'
printf '%-8s %10s %9s %9s %9s %s\n' nginx "$n_rps" "$(p nginx 50)" "$(p nginx 90)" "$n_p99" "non-2xx/3xx ${n_errs:-0}; $(sock nginx)"
printf '%-8s %10s %9s %9s %9s %s\n' kaibo "$k_rps" "$(p kaibo 50)" "$(p kaibo 90)" "$k_p99" "non-2xx/3xx ${k_errs:-0}; $(sock kaibo)"
echo "ratio kaibo/nginx: $ratio (target >= 0.5); kaibo p99 $k_p99 ms (target <= 20 ms)"
server_problems

ok=1
awk -v r="$ratio" 'BEGIN { exit !(r >= 0.5) }' || { echo "requests/s ratio: MISSED"; ok=0; }
awk -v p="$k_p99" 'BEGIN { exit !(p <= 20) }' || { echo "p99 at $NGINX_CONNECTIONS connections: MISSED"; ok=0; }
[ -z "$k_errs" ] || { echo "kaibo answered $k_errs non-2xx/3xx"; ok=0; }
[ "$code" = 200 ] && grep -q 'name="csrf"' "$WORK/after.html" || { echo "after the run the session got $code, not the lesson"; ok=0; }
if [ "$ok" = 1 ]; then echo "nginx ratio ($(backend_name)): target met"; exit 0; fi
echo "nginx ratio ($(backend_name)): target missed"
exit 1
