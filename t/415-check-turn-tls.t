# vi:filetype=perl
#
# trtc_check type=stun-tcp and type=stun-tls against real turnd listeners
# (build/turnd over TCP and over TLS with t/cert's yun.test), and what
# trtc_turn_credentials hands out from them:
#
#   - both probes pass against turnd; a Binding is what passes, not a
#     connection: stun-tcp against an HTTP port and against turnd's TLS
#     port fails, stun-tls against a plain TCP port fails;
#   - per server the URLs come in the order UDP, TCP, TLS, and turns:
#     names what the probe verified (host=);
#   - a TLS listener that dies loses only its turns: URL, which comes back
#     when the listener does (one nginx throughout: the state changes);
#   - a certificate for another name, and an expired one: the probe fails
#     and error.log says why;
#   - both probes through nginx's stream module on one port, routed as
#     README's "Deploying: one port 443" routes them (ssl_preread, the
#     PROXY protocol), as a browser behind an HTTPS-only firewall goes.
#
# Block format: the turnd servers start once, before the blocks; each
# block's nginx probes them every 200 ms.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use HTTP::Tiny;
use Time::HiRes ();
use TrtcTest::Turn;

plan skip_all => 'needs build/turnd (make turnd)'
    unless -x TrtcTest::Turn::binary();

my $T = dirname(abs_path(__FILE__));
our $Dir = tempdir('trtc-415-XXXXXX', TMPDIR => 1, CLEANUP => 1);

$ENV{TEST_NGINX_CERT_DIR} = "$T/cert";

copy("$T/cert/yun.test.crt", "$Dir/cert.pem") or die $!;
copy("$T/cert/yun.test.key", "$Dir/key.pem") or die $!;
chmod 0600, "$Dir/key.pem";

our $Conf = <<"EOF";
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
cert=$Dir/cert.pem
pkey=$Dir/key.pem
EOF

# A: UDP, TCP and TLS; B: a TLS listener the tests stop and start again;
# E: a TLS listener with an expired certificate
our $A = TrtcTest::Turn->start(tls => 1, conf => $Conf);
our $B = TrtcTest::Turn->start(tls => 1, conf => $Conf);

my $x = TrtcTest::Turn::expired_cert(do { mkdir "$Dir/x"; "$Dir/x" });
die "cannot make an expired certificate: $x->{error}" if $x->{error};
our $E = TrtcTest::Turn->start(tls => 1, conf => <<"EOF");
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
cert=$x->{cert}
pkey=$x->{key}
EOF

# P: behind the one-port stream listener of TEST 7, which connects from
# 127.0.0.2 with a PROXY header
our $P = TrtcTest::Turn->start(
    tls => 1, conf => "${Conf}proxy-protocol-from=127.0.0.2\n");

$ENV{TEST_NGINX_TURN_PORT} = $A->port;
$ENV{TEST_NGINX_TURN_P} = $P->port;
$ENV{TEST_NGINX_TURN_P_TLS} = $P->{tls_port};
$ENV{TEST_NGINX_STREAM_MODULE} ||=
    '/usr/lib/nginx/modules/ngx_stream_module.so';
$ENV{TEST_NGINX_TURN_TLS} = $A->{tls_port};
$ENV{TEST_NGINX_TURN_B_TLS} = $B->{tls_port};
$ENV{TEST_NGINX_TURN_E_TLS} = $E->{tls_port};
$ENV{TEST_NGINX_EXPIRED_CA} = $x->{ca};

# the probes of every block: often, and one failure is "down"; valgrind
# makes TLS handshakes slow, so there they get more time (as in t/400)
our $Slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 10 : 1;
$ENV{TEST_NGINX_PROBE} = $Slow > 1
    ? 'interval=2s timeout=1900ms fails=1 passes=1'
    : 'interval=200ms timeout=150ms fails=1 passes=1';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(user_files => <<"EOF") unless defined $block->user_files;
>>> cred
realm  trtc.test
secret s3cr3t
EOF

    $block->set_value(http_config =>
        "    trtc_credentials \$TEST_NGINX_SERVER_ROOT/html/cred;\n"
        . ($block->http_config // ''));
});

# the uris of trtc_turn_credentials from this block's nginx, one string
sub main::uris {
    my $r = HTTP::Tiny->new(timeout => 5)->get(
        "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/rest");
    my ($uris) = $r->{content} =~ /"uris":\[([^\]]*)\]/;
    return "$r->{status} " . ($uris // $r->{content});
}

# waits (up to 3 s, or 30 under valgrind) for the uris to match re
sub main::wait_uris {
    my ($re) = @_;
    my $u;
    for (1 .. 30 * $::Slow) {
        $u = main::uris();
        return $u if $u =~ $re;
        Time::HiRes::sleep(0.1);
    }
    return $u;
}

plan 'no_plan';

no_long_string();
run_tests();

$_->stop for $A, $B, $E, $P;

__DATA__

=== TEST 1: stun-tcp and stun-tls pass against turnd; per server, UDP, TCP, TLS in order, turns: naming what the probe verified
--- http_config
    upstream turn_udp {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun $TEST_NGINX_PROBE;
    }
    upstream turn_tcp {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun-tcp $TEST_NGINX_PROBE;
    }
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_TURN_TLS;
        trtc_check type=stun-tls host=yun.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt $TEST_NGINX_PROBE;
    }
--- config
    location = /st { trtc_status prometheus; }
    location = /rest {
        trtc_turn_credentials turn=turns:turn_tls
                              turn=turn:turn_tcp?transport=tcp
                              turn=turn:turn_udp?transport=udp;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", "GET /rest"]
--- response_body_like eval
[qr/\A(?=(?s:.*)checks_total\{upstream="turn_udp"[^}]*\} [1-9])(?=(?s:.*)checks_total\{upstream="turn_tcp"[^}]*\} [1-9])(?=(?s:.*)checks_total\{upstream="turn_tls"[^}]*\} [1-9])(?!(?s:.*)failures_total\{[^}]*\} [1-9])/,
 qr/"uris":\["turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=udp","turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=tcp","turns:yun\.test:$ENV{TEST_NGINX_TURN_TLS}"\]/]
--- no_error_log eval
[qr/trtc check: peer .* is down/, "[alert]", "[crit]"]



=== TEST 2: a Binding is what passes: stun-tcp against an HTTP port and against a TLS port, stun-tls against a plain TCP port all fail, and say why
--- http_config
    upstream http_port {
        server 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        trtc_check type=stun-tcp $TEST_NGINX_PROBE;
    }
    upstream tls_port {
        server 127.0.0.1:$TEST_NGINX_TURN_TLS;
        trtc_check type=stun-tcp $TEST_NGINX_PROBE;
    }
    upstream plain_port {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun-tls host=yun.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt $TEST_NGINX_PROBE;
    }
--- config
    location = /rest {
        trtc_turn_credentials turn=turn:http_port?transport=tcp
                              turn=turn:tls_port?transport=tcp
                              turn=turns:plain_port;
    }
--- init
Time::HiRes::sleep(1 * $::Slow);
--- request
GET /rest
--- error_code: 503
--- error_log eval
[qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_SERVER_PORT} of upstream "http_port" is down \(stun-tcp check: not a STUN message\)/,
 qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_TLS} of upstream "tls_port" is down \(stun-tcp check: /,
 qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT} of upstream "plain_port" is down \(stun-tls check: SSL handshake failed\)/,
 qr/\[error\] .*trtc: no usable TURN server for "trtc_turn_credentials"/]



=== TEST 3: a TLS listener that dies loses only its turns: URL; it comes back with the listener
--- http_config
    upstream turn_udp {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun $TEST_NGINX_PROBE;
    }
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_TURN_B_TLS;
        trtc_check type=stun-tls host=yun.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt $TEST_NGINX_PROBE;
    }
--- config
    location = /rest {
        trtc_turn_credentials turn=turn:turn_udp?transport=udp
                              turn=turns:turn_tls;
    }
--- init
my $udp = qr/"turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=udp"/;
my $tls = qr/"turns:yun\.test:$ENV{TEST_NGINX_TURN_B_TLS}"/;
Time::HiRes::sleep(0.6 * $::Slow);
my $u = main::uris();
Test::More::like($u, qr/^200 $udp,$tls$/, 'TEST 3: both URLs while B is up');
$::B->stop;
$u = main::wait_uris(qr/^200 $udp$/);
Test::More::like($u, qr/^200 $udp$/, 'TEST 3: B stopped: only turns: goes');
$::B = TrtcTest::Turn->start(tls => 1, tls_port => $::B->{tls_port},
                             conf => $::Conf);
--- request
GET /rest
--- response_body_like eval
qr/"uris":\["turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=udp","turns:yun\.test:$ENV{TEST_NGINX_TURN_B_TLS}"\]/
--- wait: 0.1
--- error_log eval
[qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_B_TLS} of upstream "turn_tls" is down \(stun-tls check: connect\(\) failed\)/,
 qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_B_TLS} of upstream "turn_tls" is up \(stun-tls check: passed\)/]
--- no_error_log eval
[qr/upstream "turn_udp" is down/, "[alert]", "[crit]"]



=== TEST 4: a certificate for another name: the probe fails, error.log says why, the turns: URL is not handed out
--- http_config
    upstream turn_udp {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun $TEST_NGINX_PROBE;
    }
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_TURN_TLS;
        trtc_check type=stun-tls host=signaling.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt $TEST_NGINX_PROBE;
    }
--- config
    location = /rest {
        trtc_turn_credentials turn=turn:turn_udp?transport=udp
                              turn=turns:turn_tls;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /rest
--- response_body_like eval
qr/"uris":\["turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=udp"\]/
--- error_log eval
qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_TLS} of upstream "turn_tls" is down \(stun-tls check: certificate does not match the name\)/



=== TEST 5: an expired certificate: the probe fails, error.log says why, the turns: URL is not handed out
--- http_config
    upstream turn_udp {
        server 127.0.0.1:$TEST_NGINX_TURN_PORT;
        trtc_check type=stun $TEST_NGINX_PROBE;
    }
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_TURN_E_TLS;
        trtc_check type=stun-tls host=yun.test ca=$TEST_NGINX_EXPIRED_CA
                   $TEST_NGINX_PROBE;
    }
--- config
    location = /rest {
        trtc_turn_credentials turn=turn:turn_udp?transport=udp
                              turn=turns:turn_tls;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /rest
--- response_body_like eval
qr/"uris":\["turn:127\.0\.0\.1:$ENV{TEST_NGINX_TURN_PORT}\?transport=udp"\]/
--- error_log eval
qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$ENV{TEST_NGINX_TURN_E_TLS} of upstream "turn_tls" is down \(stun-tls check: certificate has expired\)/



=== TEST 6: the same expired certificate with verify=off passes (the probe is what refused it)
--- http_config
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_TURN_E_TLS;
        trtc_check type=stun-tls host=yun.test verify=off $TEST_NGINX_PROBE;
    }
--- config
    location = /rest { trtc_turn_credentials turn=turns:turn_tls; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /rest
--- response_body_like eval
qr/"uris":\["turns:yun\.test:$ENV{TEST_NGINX_TURN_E_TLS}"\]/
--- no_error_log eval
[qr/is down/, "[alert]", "[crit]"]



=== TEST 7: through one port as deployed (stream, ssl_preread, PROXY protocol): stun-tcp reaches turnd's TCP listener, stun-tls its TLS one
--- main_config
    load_module $TEST_NGINX_STREAM_MODULE;
    stream {
        map $ssl_preread_protocol $trtc_upstream {
            ""         127.0.0.1:$TEST_NGINX_TURN_P;
            default    127.0.0.1:$TEST_NGINX_TURN_P_TLS;
        }
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            ssl_preread on;
            proxy_pass $trtc_upstream;
            proxy_protocol on;
            proxy_bind 127.0.0.2;
        }
    }
--- http_config
    upstream turn_tcp {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=stun-tcp $TEST_NGINX_PROBE;
    }
    upstream turn_tls {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=stun-tls host=yun.test
                   ca=$TEST_NGINX_CERT_DIR/ca.crt $TEST_NGINX_PROBE;
    }
--- config
    location = /st { trtc_status prometheus; }
    location = /rest {
        trtc_turn_credentials turn=turns:turn_tls
                              turn=turn:turn_tcp?transport=tcp;
    }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", "GET /rest"]
--- response_body_like eval
[qr/\A(?=(?s:.*)checks_total\{upstream="turn_tcp"[^}]*\} [1-9])(?=(?s:.*)checks_total\{upstream="turn_tls"[^}]*\} [1-9])(?!(?s:.*)failures_total\{[^}]*\} [1-9])/,
 qr/"uris":\["turn:127\.0\.0\.1:\d+\?transport=tcp","turns:yun\.test:\d+"\]/]
--- no_error_log eval
[qr/trtc check: peer .* is down/, "[alert]", "[crit]"]
