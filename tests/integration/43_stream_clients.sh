#!/usr/bin/env bash
# 43_stream_clients.sh - the clients of GET /queries/events/stream, on a daemon
# of its own, seen through /metrics:
#
# - cqrsd_event_stream_clients counts the streams connected: 20 streams (10
#   curl, 10 raw sockets) raise it by 20, and it is back to where it was
#   within 3 s of their clients hanging up, with no event flowing (nothing is
#   written to the idle streams that would reveal the hang-up);
# - a client that stops reading is dropped (README: "dropped when 1 MiB is
#   waiting for it"): a perl client with a 4 KiB receive buffer reads the
#   headers, then nothing while ~1.5 x (1 MiB + the kernel's largest send
#   buffer) of events are produced by UpdateProduct commands (8 KiB each);
#   when it reads again it gets a prefix of the events and then the end of the
#   stream, and cqrsd_event_stream_dropped_total went up by 1. A curl stream
#   opened at the same time, which reads, got every event the commands
#   produced. Afterwards the gauge is back to where it was, the daemon's RSS
#   grew by less than 64 MiB (a loose bound: sanitizer build), and SIGTERM
#   stops it with exit 0.
. "$(dirname "$0")/lib.sh"

U=$(uniq_id)
W="$T_CASE/w"
mkdir -p "$W"
bg_pids=""
fds=()
cleanup() {
    local p
    for p in $bg_pids; do kill "$p" 2>/dev/null; done
    [ -f "$T/daemon-sc.pid" ] && kill -9 "$(cat "$T/daemon-sc.pid")" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap '' PIPE

# ASan keeps freed memory in a quarantine (256 MiB by default), which the
# RSS check below would measure rather than the daemon: a smaller one here
port=$(free_port)
ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=4" start_daemon sc "$port" || { finish; exit 1; }
S="http://127.0.0.1:$port"
DPID=$(cat "$T/daemon-sc.pid")

# metric NAME: its value on this daemon's /metrics (empty when absent)
metric() { curl -s --max-time 5 "$S/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# wait_metric NAME WANT SECONDS: poll until NAME equals WANT (at most
# SECONDS); prints the last value seen
wait_metric() {
    local v end=$(($(date +%s%N) + $3 * 1000000000))
    while :; do
        v=$(metric "$1")
        [ "$v" = "$2" ] && break
        [ "$(date +%s%N)" -ge "$end" ] && break
        sleep 0.1
    done
    echo "$v"
}
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$DPID/status"; }

#=== the metrics are there, with their HELP and TYPE ===

curl -s "$S/metrics" >"$T_CASE/metrics0"
check help-clients 1 "$(grep -c '^# HELP cqrsd_event_stream_clients ' "$T_CASE/metrics0")"
check type-clients "# TYPE cqrsd_event_stream_clients gauge" "$(grep '^# TYPE cqrsd_event_stream_clients ' "$T_CASE/metrics0")"
check help-dropped 1 "$(grep -c '^# HELP cqrsd_event_stream_dropped_total ' "$T_CASE/metrics0")"
check type-dropped "# TYPE cqrsd_event_stream_dropped_total counter" "$(grep '^# TYPE cqrsd_event_stream_dropped_total ' "$T_CASE/metrics0")"
BASEC=$(metric cqrsd_event_stream_clients)
check clients-at-start 0 "$BASEC"
check dropped-at-start 0 "$(metric cqrsd_event_stream_dropped_total)"

#=== 20 streams are counted, and no longer once their clients hang up ===

cpids=""
for i in $(seq 1 10); do
    curl -s -N --max-time 60 "$S/queries/events/stream" >"$W/c$i" 2>/dev/null &
    cpids="$cpids $!"
done
bg_pids=$cpids
for i in $(seq 1 10); do
    if exec {fd}<>"/dev/tcp/127.0.0.1/$port"; then
        printf 'GET /queries/events/stream HTTP/1.1\r\nHost: x\r\n\r\n' >&$fd
        fds+=("$fd")
    fi
done
check sockets-open 10 "${#fds[@]}"
check clients-20-open "$((BASEC + 20))" "$(wait_metric cqrsd_event_stream_clients $((BASEC + 20)) 5)"
# every one of them has its stream (the first bytes of the body)
streaming=0
for i in $(seq 1 10); do grep -q '^retry: ' "$W/c$i" && streaming=$((streaming + 1)); done
check curl-streams-started 10 "$streaming"
# still counted a moment later: nothing ends an idle stream
sleep 1.5
check clients-20-still-open "$((BASEC + 20))" "$(metric cqrsd_event_stream_clients)"
# hang up: the curl clients end (FIN), the raw sockets close with the
# response unread (RST)
t0=$(date +%s%N)
for p in $cpids; do kill "$p" 2>/dev/null; done
for fd in "${fds[@]}"; do exec {fd}>&-; done
fds=()
check clients-back-after-hang-up "$BASEC" "$(wait_metric cqrsd_event_stream_clients "$BASEC" 3)"
echo "info: streams freed $((($(date +%s%N) - t0) / 1000000)) ms after their clients hung up"
for p in $cpids; do wait "$p" 2>/dev/null; done
bg_pids=""
check dropped-still-0 0 "$(metric cqrsd_event_stream_dropped_total)"

#=== a client that stops reading is dropped; one that reads gets everything ===

# the slow client (see its header)
cat >"$W/slow.pl" <<'EOF'
# slow.pl PORT GO OUT: an SSE client that reads the response headers, then
# stops reading until the file GO exists, then reads all that is left until
# the server closes (at most 30 s in all, or 5 s without a byte). Its receive
# buffer is set small before connecting, so that what the server sends waits
# on the server's side. Writes OUT.ready once the headers are in, OUT.ids (the
# body's id: lines), and one line on stdout:
# "status=S eof=0|1 end=0|1 bytes=N events=K" (eof: the server closed;
# end: the last chunk of the chunked body came).
use strict;
use warnings;
use Socket qw(PF_INET SOCK_STREAM IPPROTO_TCP SOL_SOCKET SO_RCVBUF inet_aton sockaddr_in);
use IO::Select;
use Time::HiRes qw(time sleep);

my ($port, $go, $out) = @ARGV;
socket(my $s, PF_INET, SOCK_STREAM, IPPROTO_TCP) or die "socket: $!\n";
setsockopt($s, SOL_SOCKET, SO_RCVBUF, pack('i', 4096)) or die "SO_RCVBUF: $!\n";
connect($s, sockaddr_in($port, inet_aton('127.0.0.1'))) or die "connect: $!\n";
my $req = "GET /queries/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
syswrite($s, $req) == length($req) or die "write: $!\n";
my $sel = IO::Select->new($s);
my $buf = '';
while (index($buf, "\r\n\r\n") < 0) {
    $sel->can_read(10) or die "no response headers within 10 s\n";
    my $n = sysread($s, $buf, 4096, length $buf);
    die "the connection ended in the headers\n" unless $n;
}
my ($head, $raw) = split /\r\n\r\n/, $buf, 2;
my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
my $chunked = $head =~ /^transfer-encoding:\s*chunked\r?$/mi;
open(my $r, '>', "$out.ready") or die "$out.ready: $!\n";
close $r;

my $t0 = time;
sleep 0.05 until -e $go || time - $t0 > 60;

my ($eof, $deadline) = (0, time + 30);
while (time < $deadline) {
    last unless $sel->can_read(5);
    my $n = sysread($s, $raw, 1 << 16, length $raw);
    last unless defined $n;    # an error (a reset) is not an end of file
    if ($n == 0) { $eof = 1; last }
}
my $bytes = length $raw;

my ($body, $end) = ('', 0);
if ($chunked) {
    while ($raw =~ /\G([0-9a-fA-F]+)[^\r\n]*\r\n/gc) {
        my ($size, $p) = (hex $1, pos($raw));
        if ($size == 0) { $end = 1; last }
        last if $p + $size + 2 > length $raw;
        $body .= substr($raw, $p, $size);
        pos($raw) = $p + $size + 2;
    }
} else {
    ($body, $end) = ($raw, $eof);
}
my @ids = $body =~ /^id: (\d+)$/mg;
open(my $f, '>', "$out.ids") or die "$out.ids: $!\n";
print $f "$_\n" for @ids;
close $f;
printf "status=%s eof=%d end=%d bytes=%d events=%d\n", $status // '-', $eof, $end, $bytes,
    scalar @ids;
EOF

# send.sh I...: POST $W/bI.json to /commands for each I, in one curl (one
# kept-alive connection); the answers in $W/rI.json
cat >"$W/send.sh" <<'EOF'
base=$1 dir=$2
shift 2
sep=""
for i in "$@"; do
    printf '%surl = "%s/commands"\nheader = "Content-Type: application/json"\ndata-binary = "@%s/b%s.json"\noutput = "%s/r%s.json"\n' \
        "$sep" "$base" "$dir" "$i" "$dir" "$i"
    sep=$'next\n'
done | curl -s --max-time 60 -K -
EOF

# how much to produce: the daemon holds 1 MiB for the client, the kernel the
# server's send buffer (up to tcp_wmem's maximum) and the client's small
# receive buffer; produce half as much again as all that
wmem_max=$(awk '{ print $3 }' /proc/sys/net/ipv4/tcp_wmem 2>/dev/null)
[ -n "$wmem_max" ] || wmem_max=4194304
EV_BYTES=8250 # one ProductUpdated event with 1990 four-byte characters, as SSE
N=$(((1048576 + wmem_max + 65536) * 3 / 2 / EV_BYTES))
[ "$N" -lt 600 ] && N=600
[ "$N" -gt 3000 ] && N=3000
echo "info: tcp_wmem max $wmem_max bytes: producing $N events of about $EV_BYTES bytes"

prods=()
for k in 1 2 3 4; do
    st=$(URL_BASE=$S cmd "{\"type\":\"CreateProduct\",\"data\":{\"sku\":\"SC$k-$U\",\"name\":\"Slow $k\",\"category\":\"sc-$U\",\"price_cents\":100,\"stock\":5}}")
    [ "$st" = 201 ] && prods+=("$(jqb .aggregate_id)")
done
check slow-setup 4 "${#prods[@]}"
perl -CS -e '
    my ($dir, $n, @p) = @ARGV;
    my $d = "\x{1F600}" x 1990;
    for my $i (1 .. $n) {
        open(my $f, ">:utf8", "$dir/b$i.json") or die "$dir/b$i.json: $!\n";
        printf $f "{\"type\":\"UpdateProduct\",\"data\":{\"product_id\":%d,\"description\":\"%s %d\"}}",
            $p[$i % @p], $d, $i;
        close $f;
    }' "$W" "$N" "${prods[@]}"
check bodies-written "$N" "$(find "$W" -name 'b*.json' | wc -l)"

RSS0=$(rss_kib)
BASEC=$(metric cqrsd_event_stream_clients)
D0=$(metric cqrsd_event_stream_dropped_total)
curl -s -N --max-time 90 "$S/queries/events/stream" >"$W/normal" 2>/dev/null &
np=$!
perl "$W/slow.pl" "$port" "$W/go" "$W/slow" >"$W/slow.out" 2>&1 &
sp=$!
bg_pids="$np $sp"
for _ in $(seq 1 100); do
    [ -f "$W/slow.ready" ] && grep -q '^retry: ' "$W/normal" && break
    sleep 0.1
done
check slow-client-has-headers yes "$([ -f "$W/slow.ready" ] && echo yes || echo "no: $(cat "$W/slow.out")")"
check two-streams-counted "$((BASEC + 2))" "$(wait_metric cqrsd_event_stream_clients $((BASEC + 2)) 5)"

t0=$(date +%s%N)
seq 1 "$N" | xargs -P 4 -n 25 bash "$W/send.sh" "$S" "$W"
echo "info: $N UpdateProduct in $((($(date +%s%N) - t0) / 1000000)) ms"
for i in $(seq 1 "$N"); do cat "$W/r$i.json" 2>/dev/null || echo '{}'; echo; done |
    jq -r '"\(.status) \(.position)"' >"$W/answers"
check commands-succeeded "$N" "$(grep -c '^succeeded [1-9][0-9]*$' "$W/answers")"
awk '{ print $2 }' "$W/answers" | sort -n >"$W/produced"
FIRST=$(head -1 "$W/produced")
LAST=$(tail -1 "$W/produced")
# the positions are those of the event store
URL_BASE=$S get "/queries/events?after=$((FIRST - 1))&limit=1" >/dev/null
check first-position-in-store "$FIRST ProductUpdated" "$(jqb '.items[0] | "\(.position) \(.type)"')"

# the daemon dropped the slow client while it did not read
check dropped-once "$((D0 + 1))" "$(wait_metric cqrsd_event_stream_dropped_total $((D0 + 1)) 5)"

# now it reads: what was waiting for it, then the end of the stream
touch "$W/go"
for _ in $(seq 1 400); do kill -0 "$sp" 2>/dev/null || break; sleep 0.1; done
wait "$sp" 2>/dev/null
res=$(cat "$W/slow.out")
echo "info: slow client: $res"
check_match slow-stream-200-ended-by-server '^status=200 eof=1 end=1 ' "$res"
got=$(echo "$res" | sed -nE 's/.* events=([0-9]+)$/\1/p')
check slow-got-fewer-events yes "$([ -n "$got" ] && [ "$got" -lt "$N" ] && echo yes || echo "no: $got of $N")"
check_match slow-got-some-events '^[1-9][0-9]*$' "$got"
# what it got is the beginning of the events, in order, without a gap
check slow-got-a-prefix "$(head -n "${got:-0}" "$W/produced")" "$(cat "$W/slow.ids")"

# the reader that reads got every event
for _ in $(seq 1 100); do
    [ "$(grep -c '^id: ' "$W/normal")" -ge "$N" ] && break
    sleep 0.1
done
kill "$np" 2>/dev/null
wait "$np" 2>/dev/null
bg_pids=""
sed -n 's/^id: //p' "$W/normal" | tr -d '\r' >"$W/normal.ids"
check reader-got-every-event "" "$(sort -n "$W/normal.ids" | comm -23 "$W/produced" - | head -5)"
check reader-got-them-once-in-order "$(cat "$W/produced")" "$(cat "$W/normal.ids")"

check clients-back-after-drop "$BASEC" "$(wait_metric cqrsd_event_stream_clients "$BASEC" 3)"
check dropped-only-once "$((D0 + 1))" "$(metric cqrsd_event_stream_dropped_total)"
RSS1=$(rss_kib)
echo "info: daemon VmRSS $RSS0 KiB before the slow client, $RSS1 KiB after"
check rss-sane yes "$([ -n "$RSS1" ] && [ $((RSS1 - RSS0)) -lt 65536 ] && echo yes || echo "no: $RSS0 -> $RSS1 KiB")"
check healthz-after 200 "$(curl -s -o /dev/null -w '%{http_code}' "$S/healthz")"

stop_daemon sc >"$T_CASE/stop" 2>&1
check daemon-stops-0 0 "$(cat "$T_CASE/stop")"
finish
