# vi:filetype=perl
#
# trtc_check in Test::Nginx blocks (master_process off, one process):
# every bad parameter fails the start naming its file and line; what makes
# each probe type pass or fail (tcp, http status/uri/Host/port, tls and
# https certificates, wss 101 against 200, stun against a closed port,
# unix-domain and IPv6 peers); peers "down" in the config stay down;
# backups stand in; and every stock balancer, with and without an upstream
# zone, skips a peer the checks found dead (controls show that without
# the checks the same requests do reach it).
#
# The timed scenarios (failover within interval x fails, several workers,
# reload, backups, turnd and coturn, nginx -s quit) are t/410-check-failover.t.
#
# Backends are servers of the same nginx (http_config, added to every
# block): A, B and C answer their letter on RAND_PORT_1..3; RAND_PORT_9 is
# never listened on (a dead peer).  TLS servers: RAND_PORT_4 signaling.test
# (through two intermediates), RAND_PORT_5 signaling.test from another CA
# (t/cert/wrong.crt), RAND_PORT_6 yun.test (right CA, another name).
#
# Requests through an upstream use "proxy_next_upstream off", so a request
# that the balancer gives to a dead peer is a 502 instead of being retried
# on the next one: the checks, not nginx's passive retries, must avoid it.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use Compress::Zlib ();
use JSON::PP ();

# absolute, so any TEST_NGINX_SERVROOT works
$ENV{TEST_NGINX_CERT_DIR} ||= dirname(abs_path(__FILE__)) . '/cert';

# valgrind makes everything slower, the probes too, TLS handshakes most:
# their checks get a longer interval and timeout, and more time to run
our $Slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 4 : 1;
$ENV{TEST_NGINX_TLS_CHECK} = $Slow > 1 ? 'interval=2s timeout=1900ms'
                                       : 'interval=200ms timeout=150ms';
our $TlsWait = $Slow > 1 ? 5 : 0.8;

our $Backends = '';
for my $b (['RAND_PORT_1', 'A'], ['RAND_PORT_2', 'B'], ['RAND_PORT_3', 'C'])
{
    my ($port, $name) = @$b;
    $Backends .= <<"_EOC_";
    server {
        listen 127.0.0.1:\$TEST_NGINX_$port;
        location / { return 200 "$name\\n"; }
        location = /s/204 { return 204; }
        location = /s/302 { return 302 /; }
        location = /s/404 { return 404; }
        location = /s/500 { return 500; }
        # 204 only for the probe uri= and host= ask for
        location = /health {
            if (\$http_host != "check.example") { return 500; }
            if (\$args != "x=1") { return 500; }
            if (\$http_user_agent != "ngx_trtc_check") { return 500; }
            return 204;
        }
        # 204 only for the default Host: the host of the server line
        location = /iphost {
            if (\$http_host != "127.0.0.1") { return 500; }
            return 204;
        }
    }
_EOC_
}

for my $f (['RAND_PORT_4', 'signaling.test'], ['RAND_PORT_5', 'wrong'],
           ['RAND_PORT_6', 'yun.test'])
{
    my ($port, $cert) = @$f;
    $Backends .= <<"_EOC_";
    server {
        listen 127.0.0.1:\$TEST_NGINX_$port ssl;
        ssl_certificate \$TEST_NGINX_CERT_DIR/$cert.crt;
        ssl_certificate_key \$TEST_NGINX_CERT_DIR/$cert.key;
        location / { return 200 "T\\n"; }
        # a WebSocket handshake answered 101 (nginx sends the status line
        # "HTTP/1.1 101"), and one answered 200 as a plain page would be
        location = /ws101 {
            if (\$http_upgrade != "websocket") { return 400; }
            if (\$http_sec_websocket_version != "13") { return 400; }
            if (\$http_sec_websocket_key = "") { return 400; }
            return 101;
        }
        location = /ws200 { return 200; }
    }
_EOC_
}

# A config error in an included file, so the line is known exactly:
#   --- bad_check: ARGS          trtc_check ARGS on line 3 of
#                                  upstream u { server ...; trtc_check ...; }
#   --- bad_conf                 or the whole file
#   --- bad_line: N              (default 3)
#   --- bad_msg: TEXT            (default: invalid parameter "ARGS" in ...)
#   --- bad_re: REGEX            or a regex for the message
add_block_preprocessor(sub {
    my $block = shift;
    my $conf = $block->bad_conf;

    if (defined(my $args = $block->bad_check)) {
        $conf = "upstream u {\n    server 127.0.0.1:1;\n"
                . "    trtc_check $args;\n}\n";
    }

    if (defined $conf) {
        my $msg = $block->bad_re // quotemeta($block->bad_msg
                  // "invalid parameter \"" . $block->bad_check
                     . "\" in \"trtc_check\"");
        my $line = $block->bad_line // 3;
        $block->set_value(user_files => ">>> bad.conf\n$conf");
        $block->set_value(http_config => "    include ../html/bad.conf;\n");
        $block->set_value(config => "    location = /t { return 204; }\n");
        $block->set_value(must_die => '');
        $block->set_value(error_log => [
            qr{\[emerg\] \d+#\d+: $msg[^\n]* in \S*/html/bad\.conf:$line\b}
        ]);
        return;
    }

    $block->set_value(http_config => $Backends
                                     . ($block->http_config // ''));
});


# A body filter: the JSON of trtc_status as one line per peer,
# "UPSTREAM INDEX STATE [field=value ...]", in the order of the config.
sub main::peers {
    my @fields = @_;
    return sub {
        my $d = eval { JSON::PP->new->decode(shift) };
        return "not JSON: $@" unless ref $d eq 'HASH';
        my $out = '';
        for my $u (sort keys %{ $d->{upstreams} }) {
            my $i = 0;
            for my $p (@{ $d->{upstreams}{$u}{peers} }) {
                $out .= join(' ', $u, $i++, $p->{state},
                             map { "$_=" . ($p->{$_} // 'undef') } @fields)
                        . "\n";
            }
        }
        return $out;
    };
}

# A body filter: runs CODE on one peer of the JSON ({upstream}{peers}[i]);
# it returns "" when all is well, else what is wrong.
sub main::peer_ok {
    my ($u, $i, $code) = @_;
    return sub {
        my $d = eval { JSON::PP->new->decode(shift) };
        return "not JSON: $@" unless ref $d eq 'HASH';
        my $p = $d->{upstreams}{$u}{peers}[$i]
            or return "no peer $i in upstream $u\n";
        my $err = $code->($p);
        return $err ? "$err: " . JSON::PP->new->canonical->encode($p) . "\n"
                    : "ok\n";
    };
}

# Which of 3 equal peers nginx's hash and ip_hash balancers pick first
# (ngx_http_upstream_hash_module.c, ngx_http_upstream_ip_hash_module.c), for
# the controls: they must send some requests to the dead peer, index 1.
sub main::hash_peer {
    my $key = shift;
    return ((Compress::Zlib::crc32($key) >> 16) & 0x7fff) % 3;
}

sub main::ip_hash_peer {
    my $h = 89;
    $h = ($h * 113 + $_) % 6271 for @_[0 .. 2];
    return $h % 3;
}

die "the keys miss the dead peer: the controls would prove nothing"
    unless grep({ main::hash_peer($_) == 1 } 1 .. 12)
           && grep({ main::ip_hash_peer(10, $_, 1) == 1 } 1 .. 12);

# n requests for each of the URIs, one connection each
sub main::reqs {
    my $n = shift;
    return [ map { my $u = $_; map { "GET $u" } 1 .. $n } @_ ];
}

no_shuffle();
no_long_string();
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: config error: unknown type
--- bad_check: type=udp



=== TEST 2: config error: empty type
--- bad_check: type=



=== TEST 3: config error: interval=0
--- bad_check: interval=0



=== TEST 4: config error: interval not a time
--- bad_check: interval=soon



=== TEST 5: config error: empty interval
--- bad_check: interval=



=== TEST 6: config error: timeout=0
--- bad_check: timeout=0



=== TEST 7: config error: timeout not a time
--- bad_check: timeout=3x



=== TEST 8: config error: timeout as long as the interval
--- bad_check: interval=1s timeout=1000ms
--- bad_msg: "timeout" must be shorter than "interval" in "trtc_check"



=== TEST 9: config error: timeout as long as the default interval (5s)
--- bad_check: timeout=5s
--- bad_msg: "timeout" must be shorter than "interval" in "trtc_check"



=== TEST 10: config error: interval shorter than the default timeout (3s)
--- bad_check: interval=2s
--- bad_msg: "timeout" must be shorter than "interval" in "trtc_check"



=== TEST 11: config error: fails=0
--- bad_check: fails=0



=== TEST 12: config error: fails over 1000
--- bad_check: fails=1001



=== TEST 13: config error: fails not a number
--- bad_check: fails=two



=== TEST 14: config error: passes=0
--- bad_check: passes=0



=== TEST 15: config error: passes over 1000
--- bad_check: passes=1001



=== TEST 16: config error: jitter over 50
--- bad_check: jitter=51



=== TEST 17: config error: negative jitter
--- bad_check: jitter=-1



=== TEST 18: config error: port=0
--- bad_check: port=0



=== TEST 19: config error: port over 65535
--- bad_check: port=65536



=== TEST 20: config error: port not a number
--- bad_check: port=http



=== TEST 21: config error: uri without a leading slash
--- bad_check: uri=health



=== TEST 22: config error: empty uri
--- bad_check: uri=



=== TEST 23: config error: empty host
--- bad_check: host=



=== TEST 24: config error: empty ca
--- bad_check: type=tls ca=
--- bad_msg: invalid parameter "ca=" in "trtc_check"



=== TEST 25: config error: verify neither on nor off
--- bad_check: verify=yes



=== TEST 26: config error: empty expect
--- bad_check: expect=



=== TEST 27: config error: expect below 100
--- bad_check: expect=99



=== TEST 28: config error: expect over 599
--- bad_check: expect=600



=== TEST 29: config error: a class that is no HTTP class
--- bad_check: expect=6xx



=== TEST 30: config error: an empty code in the list
--- bad_check: expect=200,,204



=== TEST 31: config error: more than 8 codes
--- bad_check: expect=200,201,202,203,204,205,206,207,208



=== TEST 32: config error: unknown parameter
--- bad_check: colour=blue



=== TEST 33: config error: a parameter without "="
--- bad_check: type=http slow
--- bad_msg: invalid parameter "slow" in "trtc_check"



=== TEST 34: config error: the error names the bad one of several
--- bad_check: type=http interval=1s timeout=500ms fails=3 jitter=90
--- bad_msg: invalid parameter "jitter=90" in "trtc_check"



=== TEST 35: config error: trtc_check twice in an upstream
--- bad_conf
upstream u {
    server 127.0.0.1:1;
    trtc_check type=tcp;
    trtc_check type=http;
}
--- bad_line: 4
--- bad_msg: "trtc_check" directive is duplicate



=== TEST 36: config error: trtc_check outside an upstream
--- bad_conf
server {
    listen 127.0.0.1:1;
    trtc_check;
}
--- bad_msg: "trtc_check" directive is not allowed here



=== TEST 37: config error: a ca= file that does not exist names the directive
--- bad_check: type=https ca=/nonexistent/trtc-ca.crt
--- bad_msg: cannot read the CA file "/nonexistent/trtc-ca.crt"



=== TEST 37b: config error: a ca= file that holds no certificate names the directive
--- bad_check: type=wss ca=$TEST_NGINX_SERVER_ROOT/html/bad.conf
--- bad_re: [^\n]*html/bad\.conf



=== TEST 37c: config error: metrics= port 0
--- bad_check: type=stun metrics=0
--- bad_msg: invalid parameter "metrics=0" in "trtc_check"



=== TEST 37d: config error: metrics= port over 65535
--- bad_check: type=stun metrics=65536/metrics
--- bad_msg: invalid parameter "metrics=65536/metrics" in "trtc_check"



=== TEST 37e: config error: metrics= empty
--- bad_check: type=stun metrics=
--- bad_msg: invalid parameter "metrics=" in "trtc_check"



=== TEST 37f: config error: metrics= address without a port
--- bad_check: type=stun metrics=127.0.0.1/metrics
--- bad_msg: invalid parameter "metrics=127.0.0.1/metrics" in "trtc_check"



=== TEST 37g: config error: metrics= twice
--- bad_check: type=stun metrics=9641 metrics=9642
--- bad_msg: invalid parameter "metrics=9642" in "trtc_check"



=== TEST 37h: config error: metrics= uri with a control character
--- bad_conf
upstream u {
    server 127.0.0.1:1;
    trtc_check type=stun "metrics=9641/a\tb";
}
--- bad_re: invalid parameter "metrics=9641/a\tb" in "trtc_check"



=== TEST 38: a valid trtc_check with every parameter starts
--- config
    location = /t { return 204; }
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=https interval=1h timeout=59m fails=1000 passes=1000
                   jitter=0 uri=/x?y=z expect=200,204,3xx,101 port=65535
                   host=signaling.test verify=on
                   ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream v {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check;
    }
    upstream w {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=stun interval=1h timeout=1s metrics=9641;
    }
    upstream x {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=stun interval=1h timeout=1s
                   metrics=127.0.0.1:9641/turnd/metrics?x=1;
    }
--- request
GET /t
--- error_code: 204
--- no_error_log
[emerg]
[alert]
[crit]



=== TEST 39: the documented defaults, shown by the status
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check;
    }
--- config
    location = /st { trtc_status; }
--- request
GET /st
--- response_body_filters eval
sub {
    my $d = JSON::PP->new->decode(shift);
    JSON::PP->new->canonical->encode($d->{upstreams}{u}{check}) . "\n";
}
--- response_body
{"fails":2,"interval_ms":5000,"passes":1,"timeout_ms":3000,"type":"tcp"}



=== TEST 40: before its first probe a peer is "checking" and gets traffic
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check interval=1h;
    }
--- config
    location = /st { trtc_status; }
    location /p/ { proxy_pass http://u; }
--- request eval
["GET /st", "GET /p/x"]
--- response_body_filters eval
[[main::peers(qw(checks last_check failures))], []]
--- response_body eval
["u 0 checking checks=0 last_check=0 failures=0\n", "A\n"]



=== TEST 41: control: without trtc_check, round robin gives every other request to the dead peer
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9 max_fails=0;
    }
--- config
    location /p/ {
        proxy_pass http://u;
        proxy_next_upstream off;
    }
--- request eval
main::reqs(4, "/p/x")
--- error_code eval
[200, 502, 200, 502]



=== TEST 42: tcp: the dead peer is found down and skipped; the live one is up
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check type=tcp interval=200ms timeout=100ms fails=1;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://u;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", @{ main::reqs(6, "/p/x") }]
--- response_body_filters eval
[[main::peers(qw(last_ok last_error))], map { [] } 1 .. 6]
--- response_body eval
["u 0 up last_ok=1 last_error=\n"
 . "u 1 down last_ok=0 last_error=connect() failed\n",
 ("A\n") x 6]
--- no_error_log
[alert]
[crit]



=== TEST 42b: the change of state is logged at warn, with the reason
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check type=tcp interval=200ms timeout=100ms fails=1;
    }
--- config
    location = /t { return 204; }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request
GET /t
--- error_code: 204
--- error_log eval
qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:\d+ of upstream "u" is down \(tcp check: connect\(\) failed\)/
--- no_error_log eval
[qr/trtc check: peer 127\.0\.0\.1:\d+ of upstream "u" is up/, "[alert]", "[crit]"]



=== TEST 43: the counters of a live and a dead peer
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check type=http interval=200ms timeout=100ms fails=3 passes=2
                   jitter=0;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(1.3 * $::Slow);
--- request eval
["GET /st", "GET /st"]
--- response_body_filters eval
[[main::peer_ok('u', 0, sub {
    my $p = shift;
    my $t = time;
    return 'state' unless $p->{state} eq 'up';
    return 'checks' unless $p->{checks} >= 3
                           && $p->{checks} <= 1.3 * $::Slow / 0.2 + 2;
    return 'failures' unless $p->{failures} == 0;
    return 'passes' unless $p->{consecutive_passes} == $p->{checks};
    return 'fails' unless $p->{consecutive_fails} == 0;
    return 'last_status' unless $p->{last_status} == 200;
    return 'last_ok' unless $p->{last_ok};
    return 'last_check' unless abs($p->{last_check} - $t) <= 2;
    return 'latency' unless $p->{latency_ms} >= 0 && $p->{latency_ms} < 100;
    return '';
 })],
 [main::peer_ok('u', 1, sub {
    my $p = shift;
    return 'state' unless $p->{state} eq 'down';
    return 'checks' unless $p->{checks} >= 3;
    return 'failures' unless $p->{failures} == $p->{checks};
    return 'fails' unless $p->{consecutive_fails} == $p->{checks};
    return 'passes' unless $p->{consecutive_passes} == 0;
    return 'last_status' unless $p->{last_status} == 0;
    return 'last_error' unless $p->{last_error} eq 'connect() failed';
    # down since the third failure, after the start
    return 'since' unless $p->{since} <= $p->{last_check}
                          && $p->{since} >= time - 2 - 1.3 * $::Slow;
    return '';
 })]]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 44: http: the status decides, default expect=2xx,3xx
--- http_config
    upstream s204 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/204;
    }
    upstream s302 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/302;
    }
    upstream s404 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/404;
    }
    upstream s500 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/500;
    }
    upstream tls_port {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=http interval=200ms timeout=100ms fails=1;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(last_status last_error))
--- response_body
s204 0 up last_status=204 last_error=
s302 0 up last_status=302 last_error=
s404 0 down last_status=404 last_error=unexpected status
s500 0 down last_status=500 last_error=unexpected status
tls_port 0 down last_status=400 last_error=unexpected status
--- error_log eval
qr/trtc check: peer 127\.0\.0\.1:\d+ of upstream "s404" is down \(http check: unexpected status\)/



=== TEST 45: http: expect= codes and classes
--- http_config
    upstream e404 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/404
                   expect=404;
    }
    upstream e4xx {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/404
                   expect=200,4xx;
    }
    upstream e200only {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/204
                   expect=200;
    }
    upstream e2xx_not5 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1 uri=/s/500
                   expect=2xx,3xx,4xx;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(last_status))
--- response_body
e200only 0 down last_status=204
e2xx_not5 0 down last_status=500
e404 0 up last_status=404
e4xx 0 up last_status=404



=== TEST 46: http: uri= (with its query) and host= are sent, with our User-Agent; the default Host is the server line's host
--- http_config
    upstream right {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1
                   uri=/health?x=1 host=check.example;
    }
    upstream wrong_host {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1
                   uri=/health?x=1;
    }
    upstream wrong_args {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1
                   uri=/health?x=2 host=check.example;
    }
    upstream default_host {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=http interval=200ms timeout=100ms fails=1
                   uri=/iphost;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(last_status))
--- response_body
default_host 0 up last_status=204
right 0 up last_status=204
wrong_args 0 down last_status=500
wrong_host 0 down last_status=500



=== TEST 47: port= probes another port than the traffic goes to
--- http_config
    upstream dead_traffic_port_live_check_port {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check type=http interval=200ms timeout=100ms fails=1
                   port=$TEST_NGINX_RAND_PORT_1;
    }
    upstream live_traffic_port_dead_check_port {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=tcp interval=200ms timeout=100ms fails=1
                   port=$TEST_NGINX_RAND_PORT_9;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://live_traffic_port_dead_check_port;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", "GET /p/x"]
--- response_body_filters eval
[[main::peers(qw(last_status))], []]
--- response_body_like eval
["dead_traffic_port_live_check_port 0 up last_status=200\n"
 . "live_traffic_port_dead_check_port 0 down last_status=0\n",
 qr/502 Bad Gateway/]
--- error_code eval
[200, 502]



=== TEST 48: tls and https: certificates are verified (chain, CA, name), verify=off takes any
--- http_config
    upstream https_ok {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=https $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream https_wrong_ca {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        trtc_check type=https $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream https_wrong_ca_verify_off {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        trtc_check type=https $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test verify=off;
    }
    upstream tls_ok {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream tls_wrong_name {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_6;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream tls_right_name {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_6;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   host=yun.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream tls_address_no_host {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream tls_system_bundle {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test;
    }
    upstream tls_plain_port {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1 verify=off;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep($::TlsWait);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(last_status last_error))
--- response_body
https_ok 0 up last_status=200 last_error=
https_wrong_ca 0 down last_status=0 last_error=unable to verify the first certificate
https_wrong_ca_verify_off 0 up last_status=200 last_error=
tls_address_no_host 0 down last_status=0 last_error=certificate does not match the name
tls_ok 0 up last_status=0 last_error=
tls_plain_port 0 down last_status=0 last_error=SSL handshake failed
tls_right_name 0 up last_status=0 last_error=
tls_system_bundle 0 down last_status=0 last_error=unable to get local issuer certificate
tls_wrong_name 0 down last_status=0 last_error=certificate does not match the name



=== TEST 49: a failing TLS peer is logged once, when it goes down, not on every probe
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        trtc_check type=tls $TEST_NGINX_TLS_CHECK fails=1
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep($::TlsWait * 2);
--- request
GET /st
--- response_body_filters eval
main::peer_ok('u', 0, sub { $_[0]{checks} >= 3 ? '' : 'too few checks' })
--- response_body
ok
--- grep_error_log eval: qr/\[(?:error|warn)\] .*?(?:certificate verify error|is down)/
--- grep_error_log_out eval
qr/\A[^\n]*\[warn\][^\n]*is down\n?\z/



=== TEST 50: wss: a handshake answered 101 passes; 200 (no upgrade) marks the peer down
--- http_config
    upstream ws101 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=wss $TEST_NGINX_TLS_CHECK fails=1 uri=/ws101
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream ws200 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=wss $TEST_NGINX_TLS_CHECK fails=1 uri=/ws200
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream ws_wrong_ca {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        trtc_check type=wss $TEST_NGINX_TLS_CHECK fails=1 uri=/ws101
                   host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
    upstream ws_wrong_ca_verify_off {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_5;
        trtc_check type=wss $TEST_NGINX_TLS_CHECK fails=1 uri=/ws101
                   host=signaling.test verify=off;
    }
    upstream ws_expect200 {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_4;
        trtc_check type=wss $TEST_NGINX_TLS_CHECK fails=1 uri=/ws200
                   expect=200 host=signaling.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep($::TlsWait);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(last_status last_error))
--- response_body
ws101 0 up last_status=101 last_error=
ws200 0 down last_status=200 last_error=unexpected status
ws_expect200 0 up last_status=200 last_error=
ws_wrong_ca 0 down last_status=0 last_error=unable to verify the first certificate
ws_wrong_ca_verify_off 0 up last_status=101 last_error=
--- error_log eval
qr/trtc check: peer 127\.0\.0\.1:\d+ of upstream "ws200" is down \(wss check: unexpected status\)/



=== TEST 51: stun: a closed UDP port is down at once (ICMP), not up
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check type=stun interval=200ms timeout=150ms fails=1;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request
GET /st
--- response_body_filters eval
main::peer_ok('u', 0, sub {
    my $p = shift;
    return 'state' unless $p->{state} eq 'down';
    # refused at once, not waited for until the timeout
    return 'latency' unless $p->{latency_ms} < 100;
    return '';
})
--- response_body
ok



=== TEST 52: a peer "down" in the config is "disabled", never revived, never used (no zone)
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1 down;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check type=http interval=100ms timeout=50ms fails=1 passes=1;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://u;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
["GET /st", @{ main::reqs(4, "/p/x") }, "GET /st?format=prometheus"]
--- response_body_filters eval
[[main::peers(qw(last_ok))], [], [], [], [], []]
--- response_body_like eval
["u 0 disabled last_ok=1\nu 1 up last_ok=1\n", ("B\n") x 4,
 qr/^trtc_upstream_peer_up\{upstream="u",peer="127\.0\.0\.1:\d+",backup="false"\} 0\n/m]



=== TEST 53: a peer "down" in the config stays unused with an upstream zone too
--- http_config
    upstream u {
        zone u 64k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1 down;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_3 backup;
        trtc_check type=http interval=100ms timeout=50ms fails=1 passes=1;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://u;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
["GET /st", @{ main::reqs(4, "/p/x") }]
--- response_body_filters eval
[[main::peers(qw(backup))], [], [], [], []]
--- response_body eval
["u 0 disabled backup=0\nu 1 up backup=0\nu 2 up backup=1\n", ("B\n") x 4]



=== TEST 54: backup: the only primary is dead, the backup takes every request
--- http_config
    upstream u {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2 backup;
        trtc_check type=tcp interval=100ms timeout=50ms fails=1;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://u;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
["GET /st", @{ main::reqs(4, "/p/x") }]
--- response_body_filters eval
[[main::peers(qw(backup))], [], [], [], []]
--- response_body eval
["u 0 down backup=0\nu 1 up backup=1\n", ("B\n") x 4]



=== TEST 55: every stock balancer skips the dead peer (no zone)
--- http_config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-IP;
    upstream rr {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream wrr {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9 weight=10;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream lc {
        least_conn;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream hash {
        hash $arg_k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream chash {
        hash $arg_k consistent;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream iphash {
        ip_hash;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream random {
        random;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream random2 {
        random two least_conn;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream keepalive {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        keepalive 4;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
--- config
    location ~ ^/(\w+)/ {
        proxy_pass http://$1;
        proxy_next_upstream off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
[ map { my $u = $_; map { "GET /$u/x?k=$_" } 1 .. 12 }
  qw(rr wrr lc hash chash iphash random random2 keepalive) ]
--- more_headers eval
[ map { my $u = $_; map { "X-IP: 10.$_.1.1" } 1 .. 12 }
  qw(rr wrr lc hash chash iphash random random2 keepalive) ]
--- response_body_like eval
[ (qr/^[AB]$/) x (9 * 12) ]



=== TEST 56: every stock balancer skips the dead peer (upstream zone)
--- http_config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-IP;
    upstream rr {
        zone rr 64k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream wrr {
        zone wrr 64k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9 weight=10;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream lc {
        zone lc 64k;
        least_conn;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream hash {
        zone hash 64k;
        hash $arg_k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream chash {
        zone chash 64k;
        hash $arg_k consistent;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream iphash {
        zone iphash 64k;
        ip_hash;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream random {
        zone random 64k;
        random;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream random2 {
        zone random2 64k;
        random two least_conn;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
    upstream keepalive {
        zone keepalive 64k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
        keepalive 4;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
--- config
    location ~ ^/(\w+)/ {
        proxy_pass http://$1;
        proxy_next_upstream off;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
[ map { my $u = $_; map { "GET /$u/x?k=$_" } 1 .. 12 }
  qw(rr wrr lc hash chash iphash random random2 keepalive) ]
--- more_headers eval
[ map { my $u = $_; map { "X-IP: 10.$_.1.1" } 1 .. 12 }
  qw(rr wrr lc hash chash iphash random random2 keepalive) ]
--- response_body_like eval
[ (qr/^[AB]$/) x (9 * 12) ]



=== TEST 57: control: without checks, hash and ip_hash send some requests to the dead peer
--- http_config
    set_real_ip_from 127.0.0.1;
    real_ip_header X-IP;
    upstream hash {
        hash $arg_k;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9 max_fails=0;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
    upstream iphash {
        ip_hash;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9 max_fails=0;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
--- config
    location ~ ^/(\w+)/ {
        proxy_pass http://$1;
        proxy_next_upstream off;
    }
--- request eval
[ map { my $u = $_; map { "GET /$u/x?k=$_" } 1 .. 12 } qw(hash iphash) ]
--- more_headers eval
[ map { my $u = $_; map { "X-IP: 10.$_.1.1" } 1 .. 12 } qw(hash iphash) ]
--- error_code eval
[ (map { main::hash_peer($_) == 1 ? 502 : 200 } 1 .. 12),
  (map { main::ip_hash_peer(10, $_, 1) == 1 ? 502 : 200 } 1 .. 12) ]



=== TEST 59: a unix-domain socket peer: tcp and http checks pass (http with Host: localhost, as proxy_pass sends it)
--- http_config
    server {
        listen unix:$TEST_NGINX_SERVER_ROOT/html/peer.sock;
        location / { return 200 "U\n"; }
    }
    upstream utcp {
        server unix:$TEST_NGINX_SERVER_ROOT/html/peer.sock;
        trtc_check interval=200ms timeout=100ms fails=1;
    }
    upstream uhttp {
        server unix:$TEST_NGINX_SERVER_ROOT/html/peer.sock;
        trtc_check type=http interval=200ms timeout=100ms fails=1;
    }
--- config
    location = /st { trtc_status; }
    location /p/ {
        proxy_pass http://uhttp;
        proxy_next_upstream off;
    }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request eval
["GET /st", "GET /p/x"]
--- response_body_filters eval
[[main::peers(qw(last_status))], []]
--- response_body eval
["uhttp 0 up last_status=200\nutcp 0 up last_status=0\n", "U\n"]



=== TEST 60: an IPv6 peer: the http check's default Host is the bracketed address
--- http_config
    server {
        listen [::1]:$TEST_NGINX_RAND_PORT_8;
        location = /h {
            if ($http_host != "[::1]") { return 500; }
            return 204;
        }
    }
    upstream v6 {
        server [::1]:$TEST_NGINX_RAND_PORT_8;
        trtc_check type=http uri=/h interval=200ms timeout=100ms fails=1;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.6 * $::Slow);
--- request
GET /st
--- response_body_filters eval
main::peers(qw(name last_status))
--- response_body_like eval
qr/\Av6 0 up name=\[::1\]:\d+ last_status=204\n\z/
