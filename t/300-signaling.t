# vi:filetype=perl
#
# trtc_signaling_pass: config errors (with file:line), the WebSocket
# upgrade through a TLS upstream (Host, SNI, X-Forwarded-For, certificate
# verification), plain requests, refused upgrades, the upstream{} form and
# the user's own proxy_* directives.
#
# The "upstream" is a tcp_listen mock (RAND_PORT_2) fronted by TLS servers
# of the same nginx, one per certificate:
#   RAND_PORT_1  signaling.test (issued through two intermediates)
#   RAND_PORT_3  signaling.test issued by another CA (t/cert/wrong.crt)
#   RAND_PORT_4  yun.test (right CA, wrong name)
# Each front passes the request on as it got it (Host, X-Forwarded-For,
# Upgrade, Connection) and adds X-SNI: the name the client sent in SNI.
# The mock reads the whole request, until nginx has been quiet for
# tcp_query_auto_timeout: without it a mock (ours and the real
# Test::Nginx's) reads as many bytes as tcp_query's regex has characters,
# then waits for ever (an upgraded connection stays open) or stops short.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);

# absolute, so any TEST_NGINX_SERVROOT works
$ENV{TEST_NGINX_CERT_DIR} ||= dirname(abs_path(__FILE__)) . '/cert';

our $Fronts = '';
for my $f (['RAND_PORT_1', 'signaling.test'], ['RAND_PORT_3', 'wrong'],
           ['RAND_PORT_4', 'yun.test'])
{
    my ($port, $cert) = @$f;
    $Fronts .= <<"_EOC_";
    server {
        listen 127.0.0.1:\$TEST_NGINX_$port ssl;
        ssl_certificate \$TEST_NGINX_CERT_DIR/$cert.crt;
        ssl_certificate_key \$TEST_NGINX_CERT_DIR/$cert.key;
        location / {
            proxy_pass http://127.0.0.1:\$TEST_NGINX_RAND_PORT_2;
            proxy_http_version 1.1;
            proxy_buffering off;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$http_x_forwarded_for;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$http_connection;
            proxy_set_header X-SNI \$ssl_server_name;
        }
    }
_EOC_
}

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $Fronts . ($block->http_config // ''));
});

# A regex for an upstream request: its request line, then lines that must
# all be there (in any order; strings, or qr// for a line), and header
# names that must not.
sub main::req_like {
    my ($line, $has, $hasnt) = @_;
    my $re = '\A' . quotemeta($line) . '\r\n';
    $re .= '(?=.*^' . (ref $_ ? $_ : quotemeta($_)) . '\r$)' for @$has;
    $re .= '(?!.*^' . quotemeta($_) . ':)' for @{ $hasnt // [] };
    return qr/$re/msi;
}

our $Upgrade = "GET /ws/x?y=1 HTTP/1.1\r\n"
    . "Host: localhost\r\n"
    . "Upgrade: websocket\r\n"
    . "Connection: Upgrade\r\n"
    . "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    . "Sec-WebSocket-Version: 13\r\n"
    . "X-Forwarded-For: 10.1.2.3\r\n\r\n";

# the same, for answers other than 101 (the client reads up to EOF)
(our $UpgradeClose = $Upgrade)
    =~ s/Connection: Upgrade/Connection: Upgrade, close/;

our $Switch = "HTTP/1.1 101 Switching Protocols\r\n"
    . "Upgrade: websocket\r\n"
    . "Connection: Upgrade\r\n"
    . "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

# An [emerg] line with the message (strings, and qr// for patterns, in a
# row) and the file and line of the directive, as ngx_conf_log_error()
# writes it.
sub main::emerg {
    my $msg = join '', map { ref $_ ? $_ : quotemeta $_ } @_;
    return qr{\[emerg\] \d+#\d+: $msg in \S+/conf/nginx\.conf:\d+};
}

no_shuffle();
no_long_string();
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: upgrade through TLS: 101, Host, SNI, X-Forwarded-For, verified
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /x?y=1 HTTP/1.1', [
    'Host: signaling.test',
    'X-SNI: signaling.test',
    'Upgrade: websocket',
    'Connection: upgrade',
    'X-Forwarded-For: 10.1.2.3, 127.0.0.1',
    'X-Real-IP: 127.0.0.1',
    'X-Forwarded-Proto: http',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
])
--- error_code: 101
--- response_headers
Upgrade: websocket
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
--- no_error_log
[error]
[warn]



=== TEST 2: the client's Host is not passed on; the URL's path is
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/sig/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval
my $r = $::Upgrade;
$r =~ s/Host: localhost/Host: evil.example/;
$r
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /sig/x?y=1 HTTP/1.1',
               ['Host: signaling.test', 'X-SNI: signaling.test'])
--- error_code: 101
--- no_error_log
[error]



=== TEST 3: a certificate from another CA is refused: 502, logged
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_3/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
upstream SSL certificate verify error
certificate



=== TEST 4: verify=off takes the certificate from another CA
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_3/
                            host=signaling.test verify=off;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /x?y=1 HTTP/1.1',
               ['Host: signaling.test', 'X-SNI: signaling.test',
                'Upgrade: websocket', 'Connection: upgrade'])
--- error_code: 101
--- no_error_log
[error]



=== TEST 5: a certificate of the right CA for another name is refused
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_4/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
upstream SSL certificate does not match "signaling.test"



=== TEST 6: without ca= the system bundle is used, which lacks the test CA
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                            host=signaling.test;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
upstream SSL certificate verify error



=== TEST 7: the user's proxy_ssl_verify_depth 1 written before wins (502)
--- config
    location /ws/ {
        proxy_ssl_verify_depth 1;
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
upstream SSL certificate verify error



=== TEST 8: an upstream answering 200 to an upgrade: 200 passed on, warned
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::UpgradeClose
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\n"
. "no ws 4u\n"
--- response_body
no ws 4u
--- error_log eval
my $url = qr{"https://127\.0\.0\.1:\d+/"};
qr{\[warn\] .*trtc signaling: upstream $url answered 200 to a WebSocket}
--- no_error_log
[error]



=== TEST 9: a plain GET is proxied with Connection: close and no Upgrade
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- request
GET /ws/health
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
--- tcp_query eval
main::req_like('GET /health HTTP/1.1',
               ['Host: signaling.test', 'X-SNI: signaling.test',
                'Connection: close', 'X-Forwarded-For: 127.0.0.1'],
               ['Upgrade'])
--- response_body
ok
--- no_error_log
[error]
[warn]



=== TEST 10: upstream{} form: Host and SNI are its first server's host
--- http_config
    # "localhost" may also be ::1, which nothing here listens on: nginx
    # then logs a refused connect and tries 127.0.0.1 (hence no check of
    # [error] in the blocks that use it)
    upstream sig_backend {
        server localhost:$TEST_NGINX_RAND_PORT_1;
    }
--- config
    location /ws/ {
        trtc_signaling_pass https://sig_backend/ verify=off;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /x?y=1 HTTP/1.1',
               [qr/Host: localhost:\d+/,
                'X-SNI: localhost', 'Upgrade: websocket'])
--- error_code: 101



=== TEST 11: the URL's host (no upstream{}) in Host and SNI
--- config
    location /ws/ {
        trtc_signaling_pass https://localhost:$TEST_NGINX_RAND_PORT_1/
                            verify=off;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /x?y=1 HTTP/1.1',
               [qr/Host: localhost:\d+/, 'X-SNI: localhost'])
--- error_code: 101



=== TEST 12: upstream{} form with host=, verified
--- http_config
    upstream sig_backend {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
--- config
    location /ws/ {
        trtc_signaling_pass https://sig_backend/ host=signaling.test
                            ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /x?y=1 HTTP/1.1',
               ['Host: signaling.test', 'X-SNI: signaling.test'])
--- error_code: 101
--- no_error_log
[error]



=== TEST 13: plain http upstream{}: Host is its server's host and port
--- http_config
    upstream plain_backend {
        server localhost:$TEST_NGINX_RAND_PORT_2;
    }
--- config
    location /ws/ {
        trtc_signaling_pass http://plain_backend;
    }
--- raw_request eval: $::Upgrade
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Switch
--- tcp_query eval
main::req_like('GET /ws/x?y=1 HTTP/1.1',
               [qr/Host: localhost:\d+/,
                'Upgrade: websocket', 'Connection: upgrade'])
--- error_code: 101



=== TEST 14: the user's proxy_read_timeout written before wins: 504
--- config
    location /ws/ {
        proxy_read_timeout 500ms;
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
--- request
GET /ws/slow
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply_delay: 1500ms
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- error_code: 504
--- error_log
upstream timed out



=== TEST 15: the default read timeout outlasts nginx's short one
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
    }
--- request
GET /ws/slow
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply_delay: 1500ms
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- response_body
ok
--- no_error_log
[error]



=== TEST 16: timeout= sets the read timeout
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2
                            timeout=500ms;
    }
--- request
GET /ws/slow
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply_delay: 1500ms
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- error_code: 504
--- error_log
upstream timed out



=== TEST 17: other proxy_* directives go anywhere; Host keeps its port
--- config
    location /ws/ {
        proxy_set_header X-Before yes;
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        proxy_set_header X-After yes;
        proxy_connect_timeout 2s;
    }
--- request
GET /ws/a
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- tcp_query eval
main::req_like('GET /a HTTP/1.1',
               [qr/Host: 127\.0\.0\.1:\d+/,
                'X-Before: yes', 'X-After: yes'])
--- response_body
ok



=== TEST 18: the user's proxy_set_header Host written before is the one sent
--- config
    location /ws/ {
        proxy_set_header Host custom.test;
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- request
GET /ws/a
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- tcp_query eval
# exactly one Host line, custom.test
my $other = qr/(?:(?!Host:)[^\r\n]*\r\n)*/i;
qr/\AGET \/a HTTP\/1\.1\r\n${other}Host: custom\.test\r\n$other\r\n\z/i
--- response_body
ok



=== TEST 19: an unreachable upstream gives 502
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_5/;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
connect() failed (111: Connection refused)
--- no_error_log
answered 502



=== TEST 20: "HTTPS://" (any case) still verifies the certificate
--- config
    location /ws/ {
        trtc_signaling_pass HTTPS://127.0.0.1:$TEST_NGINX_RAND_PORT_3/
                            host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval: $::UpgradeClose
--- error_code: 502
--- error_log
upstream SSL certificate verify error



=== TEST 21: config error: a URL with a variable is refused at file:line
--- config
    location /ws/ {
        set $t 127.0.0.1:1;
        trtc_signaling_pass http://$t/;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: variables are not supported in the URL of "trtc_signaling_pass": name an upstream\{\} block instead in \S+/conf/nginx\.conf:\d+}



=== TEST 21a: config error: proxy_set_header Host after the directive would send Host twice
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:1/;
        proxy_set_header Host custom.test;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "proxy_set_header Host" after "trtc_signaling_pass" sends the header twice: write it before the directive, or use its parameters, in \S+/conf/nginx\.conf:\d+}



=== TEST 22: config error: a URI part in a regex location, at file:line
--- config
    location ~ ^/ws {
        trtc_signaling_pass http://127.0.0.1:1/sig/;
    }
--- must_die
--- error_log eval
main::emerg('"proxy_pass" cannot have URI part in location given by ',
            'regular expression', qr/.*/)



=== TEST 23: config error: not an http(s) URL
--- config
    location /ws/ {
        trtc_signaling_pass ftp://signaling.test/;
    }
--- must_die
--- error_log eval
main::emerg('invalid URL "ftp://signaling.test/" in "trtc_signaling_pass": ',
            'http:// or https:// expected')



=== TEST 24: config error: unknown parameter
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:1/ colour=blue;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "colour=blue" in "trtc_signaling_pass"')



=== TEST 25: config error: max_body= is trtc_logger_pass's
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:1/ max_body=1m;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "max_body=1m" in "trtc_signaling_pass"')



=== TEST 26: config error: bad timeout=
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:1/ timeout=soon;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "timeout=soon" in "trtc_signaling_pass"')



=== TEST 27: config error: empty host=
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:1/ host=;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "host=" in "trtc_signaling_pass"')



=== TEST 28: config error: trtc_signaling_pass twice
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:1/;
        trtc_signaling_pass https://127.0.0.1:2/;
    }
--- must_die
--- error_log eval
main::emerg('"trtc_signaling_pass" directive is duplicate')



=== TEST 29: config error: proxy_pass, then trtc_signaling_pass
--- config
    location /ws/ {
        proxy_pass http://127.0.0.1:1/;
        trtc_signaling_pass https://127.0.0.1:2/;
    }
--- must_die
--- error_log eval
main::emerg('"proxy_pass" (as set by "trtc_signaling_pass") is duplicate')



=== TEST 30: config error: trtc_signaling_pass, then proxy_pass
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:2/;
        proxy_pass http://127.0.0.1:1/;
    }
--- must_die
--- error_log eval
main::emerg('"proxy_pass" directive is duplicate')



=== TEST 31: config error: a proxy_* default written after is a duplicate
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:2/;
        proxy_read_timeout 10s;
    }
--- must_die
--- error_log eval
main::emerg('"proxy_read_timeout" directive is duplicate')



=== TEST 32: config error: trtc_logger_pass in the same location
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:2/;
        trtc_logger_pass https://127.0.0.1:3/;
    }
--- must_die
--- error_log eval
main::emerg('"trtc_logger_pass" directive is duplicate')



=== TEST 33: config error: not allowed at server level
--- config
    trtc_signaling_pass https://127.0.0.1:2/;
--- must_die
--- error_log eval
main::emerg('"trtc_signaling_pass" directive is not allowed here')



=== TEST 34: config error: no host in the URL
--- config
    location /ws/ {
        trtc_signaling_pass https:///ws;
    }
--- must_die
--- error_log eval
qr{\[emerg\] .*in \S+/conf/nginx\.conf:\d+}



=== TEST 35: config error: a missing ca= file
--- config
    location /ws/ {
        trtc_signaling_pass https://127.0.0.1:2/
                            ca=$TEST_NGINX_CERT_DIR/missing.crt;
    }
--- must_die
--- error_log
missing.crt



=== TEST 40: trtc_allow_origin: an allowed exact origin is proxied
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_allow_origin https://app.example.com ~^https://[a-z]+\.example\.org$;
    }
--- request
GET /ws/a
--- more_headers
Origin: https://app.example.com
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- response_body
ok



=== TEST 41: trtc_allow_origin: an origin allowed by a regex is proxied
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_allow_origin https://app.example.com ~^https://[a-z]+\.example\.org$;
    }
--- request
GET /ws/a
--- more_headers
Origin: https://meet.example.org
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- response_body
ok



=== TEST 42: trtc_allow_origin: an origin not allowed gets 403, also for an upgrade
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_allow_origin https://app.example.com ~^https://[a-z]+\.example\.org$;
    }
--- raw_request eval
"GET /ws/x HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
. "Connection: Upgrade, close\r\nSec-WebSocket-Version: 13\r\n"
. "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
. "Origin: https://evil.example.org.attacker.test\r\n\r\n"
--- error_code: 403
--- no_error_log
[warn]



=== TEST 43: without trtc_allow_origin, every origin may connect (the tutorial's setup)
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- request
GET /ws/a
--- more_headers
Origin: https://anything.test
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
--- response_body
ok



=== TEST 44: trtc_allow_origin on the logger: an origin not allowed gets 403
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_allow_origin https://app.example.com;
    }
--- request
POST /logger/upload
log line
--- more_headers
Origin: https://other.example.com
--- error_code: 403
