# vi:filetype=perl
#
# trtc_logger_pass: upload bodies reach the upstream intact (plain http and
# TLS with Host/SNI/verification), max_body (413), config errors; and the
# configuration checks of trtc_logger_spool (missing directory, directory
# the workers cannot write, spool without trtc_logger_pass).  What the spool
# does at run time is t/330-logger-spool.t.
#
# The TLS upstream is a server of the same nginx with the yun.test
# certificate (RAND_PORT_1) in front of a tcp_listen mock (RAND_PORT_2); it
# passes the request on as it got it, adding X-SNI.

use Test::Nginx::Socket;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);

$ENV{TEST_NGINX_CERT_DIR} ||= dirname(abs_path(__FILE__)) . '/cert';

# Spool directories with known owners and modes, outside servroot (which
# the runner wipes).  Only root can give them away, so the blocks about
# the workers' user need root (skip_eval otherwise).
my $tmp = tempdir('trtc-320-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
our $Root = $> == 0;
my ($nobody, $nogroup) = (getpwnam('nobody'))[2, 3];
for my $d (['ROOT755', 0755, 0, 0], ['NOBODY700', 0700, $nobody, $nogroup],
           ['OPEN', 0777, 0, 0])
{
    my ($name, $mode, $uid, $gid) = @$d;
    my $path = "$tmp/" . lc $name;
    mkdir $path or die "mkdir $path: $!";
    chmod $mode, $path;
    chown $uid, $gid, $path if $Root;
    $ENV{"TEST_NGINX_SPOOL_$name"} = $path;
}
$ENV{TEST_NGINX_SPOOL_MISSING} = "$tmp/missing";
open my $fh, '>', "$tmp/file" or die "$tmp/file: $!";
close $fh;
$ENV{TEST_NGINX_SPOOL_FILE} = "$tmp/file";

# "# workers run as USER" in --- config: the runner's `user` line (written
# after http{}, as the real runner does) names USER for that block.
my $user_env = $ENV{TEST_NGINX_WORKER_USER};
add_block_preprocessor(sub {
    my $block = shift;
    if (($block->config // '') =~ /^\s*# workers run as (\S.*?)\s*$/m) {
        $ENV{TEST_NGINX_WORKER_USER} = $1;
    } elsif (defined $user_env) {
        $ENV{TEST_NGINX_WORKER_USER} = $user_env;
    } else {
        delete $ENV{TEST_NGINX_WORKER_USER};
    }
});

our $Front = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1 ssl;
        ssl_certificate $TEST_NGINX_CERT_DIR/yun.test.crt;
        ssl_certificate_key $TEST_NGINX_CERT_DIR/yun.test.key;
        client_max_body_size 10m;
        location / {
            proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $http_x_forwarded_for;
            proxy_set_header X-SNI $ssl_server_name;
        }
    }
_EOC_

# Every byte value, then enough to go to a temp file (client_body_buffer_size
# is 16k), yet under the 64 KiB a tcp_listen mock can report.
our $Body = join('', map { chr } 0 .. 255)
            . join('', map { pack 'N', $_ * 2654435761 % 4294967296 }
                           1 .. 10000);

sub main::post {
    my ($uri, $body, @headers) = @_;
    return "POST $uri HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
           . join('', map { "$_\r\n" } @headers)
           . "Content-Length: " . length($body) . "\r\n\r\n$body";
}

# A regex for an upstream request: request line, header lines in any order
# (strings or qr//), header names that must be absent, and the exact body.
sub main::req_like {
    my ($line, $has, $hasnt, $body) = @_;
    my $re = '\A' . quotemeta($line) . '\r\n';
    $re .= '(?=.*^' . (ref $_ ? $_ : quotemeta($_)) . '\r$)' for @$has;
    $re .= '(?!.*^' . quotemeta($_) . ':)' for @{ $hasnt // [] };
    $re .= '(?:[^\r\n]+\r\n)*\r\n' . quotemeta($body // '') . '\z';
    return qr/$re/msi;
}

our $Ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n"
          . "\r\nok\n";

no_shuffle();
no_long_string();
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: a binary body reaches a plain http upstream byte for byte
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- raw_request eval
main::post('/logger/upload?sdk=1', $::Body,
           'Content-Type: application/octet-stream',
           'X-Forwarded-For: 10.9.8.7')
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /upload?sdk=1 HTTP/1.1',
               [qr/Host: 127\.0\.0\.1:\d+/,
                'X-Forwarded-For: 10.9.8.7, 127.0.0.1',
                'X-Real-IP: 127.0.0.1', 'X-Forwarded-Proto: http',
                'Connection: close',
                'Content-Length: ' . length $::Body,
                'Content-Type: application/octet-stream'],
               ['Upgrade'], $::Body)
--- response_body
ok
--- no_error_log
[error]
[warn]



=== TEST 2: TLS upstream: Host and SNI yun.test, verified, body intact
--- http_config eval: $::Front
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                         host=yun.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval
main::post('/logger/upload', $::Body)
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /upload HTTP/1.0',
               ['Host: yun.test', 'X-SNI: yun.test',
                'X-Forwarded-For: 127.0.0.1',
                'Content-Length: ' . length $::Body], [], $::Body)
--- response_body
ok
--- no_error_log
[error]
[warn]



=== TEST 3: a chunked upload is passed on with its length, intact
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- raw_request eval
my $b = $::Body;
my $chunked = '';
while (length $b) {
    my $c = substr $b, 0, 7777, '';
    $chunked .= sprintf("%x\r\n", length $c) . "$c\r\n";
}
"POST /logger/c HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
. "Transfer-Encoding: chunked\r\n\r\n${chunked}0\r\n\r\n"
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /c HTTP/1.1',
               ['Content-Length: ' . length $::Body],
               ['Transfer-Encoding'], $::Body)
--- response_body
ok



=== TEST 4: the certificate of another name is refused: 502
--- http_config eval: $::Front
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                         host=signaling.test ca=$TEST_NGINX_CERT_DIR/ca.crt;
    }
--- raw_request eval
main::post('/logger/upload', 'log line')
--- error_code: 502
--- error_log
upstream SSL certificate does not match "signaling.test"



=== TEST 5: without ca= the system bundle is used, which lacks the test CA
--- http_config eval: $::Front
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:$TEST_NGINX_RAND_PORT_1/
                         host=yun.test;
    }
--- raw_request eval
main::post('/logger/upload', 'log line')
--- error_code: 502
--- error_log
upstream SSL certificate verify error



=== TEST 6: max_body: a body of exactly max_body passes
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/
                         max_body=1k;
    }
--- raw_request eval
main::post('/logger/upload', 'x' x 1024)
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /upload HTTP/1.1', ['Content-Length: 1024'], [],
               'x' x 1024)
--- response_body
ok



=== TEST 7: max_body: one byte more is 413, the upstream is not asked
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/
                         max_body=1k;
    }
--- raw_request eval
main::post('/logger/upload', 'x' x 1025)
--- error_code: 413
--- error_log
client intended to send too large body: 1025 bytes
--- no_error_log
connect()



=== TEST 8: max_body defaults to 1m: 1m passes
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- raw_request eval
main::post('/logger/upload', 'y' x 1048576)
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /upload HTTP/1.1', ['Content-Length: 1048576'], [],
               'y' x 1048576)
--- response_body
ok



=== TEST 9: max_body defaults to 1m: 1m + 1 is 413
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- raw_request eval
main::post('/logger/upload', 'y' x 1048577)
--- error_code: 413
--- error_log
client intended to send too large body: 1048577 bytes



=== TEST 10: without a spool an upstream 5xx is passed on
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
    }
--- raw_request eval
main::post('/logger/upload', 'log line')
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval
"HTTP/1.1 503 Busy\r\nContent-Length: 5\r\nConnection: close\r\n\r\nbusy\n"
--- error_code: 503
--- response_headers
!X-Trtc-Spooled
--- response_body
busy



=== TEST 11: config error: unknown parameter
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:1/ timeout=10s;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "timeout=10s" in "trtc_logger_pass" in \S+/conf/nginx\.conf:\d+}



=== TEST 12: config error: bad max_body=
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:1/ max_body=lots;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "max_body=lots" in "trtc_logger_pass" in \S+/conf/nginx\.conf:\d+}



=== TEST 13: config error: not an http(s) URL
--- config
    location /logger/ {
        trtc_logger_pass yun.test/upload;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid URL "yun\.test/upload" in "trtc_logger_pass": http:// or https:// expected in \S+/conf/nginx\.conf:\d+}



=== TEST 14: config error: proxy_pass, then trtc_logger_pass
--- config
    location /logger/ {
        proxy_pass http://127.0.0.1:1/;
        trtc_logger_pass https://127.0.0.1:2/;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "proxy_pass" \(as set by "trtc_logger_pass"\) is duplicate in \S+/conf/nginx\.conf:\d+}



=== TEST 15: config error: the spool directory is missing
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_MISSING;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: trtc_logger_spool directory "[^"]*/missing" is missing \(2: No such file or directory\) in \S+/conf/nginx\.conf:\d+}



=== TEST 16: config error: the spool "directory" is a file
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_FILE;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: trtc_logger_spool "[^"]*/file" is not a directory in \S+/conf/nginx\.conf:\d+}



=== TEST 17: config error: spool without trtc_logger_pass
--- config
    location /logger/ {
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_logger_spool" needs "trtc_logger_pass" in the same location in \S+/conf/nginx\.conf:\d+}



=== TEST 18: config error: spool with trtc_signaling_pass
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_logger_spool" needs "trtc_logger_pass" in the same location in \S+/conf/nginx\.conf:\d+}



=== TEST 19: config error: spool twice
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_logger_spool" directive is duplicate in \S+/conf/nginx\.conf:\d+}



=== TEST 20: config error: bad max_size=
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN max_size=0;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "max_size=0" in "trtc_logger_spool" in \S+/conf/nginx\.conf:\d+}



=== TEST 21: config error: a root 0755 spool, workers run as nobody
--- skip_eval: 2: !$::Root
--- config
    # workers run as nobody nogroup
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_ROOT755;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: trtc_logger_spool directory "[^"]*/root755" is not writable by the worker processes in \S+/conf/nginx\.conf:\d+}



=== TEST 22: config error: a spool only nobody can write, workers run as www-data
--- skip_eval: 2: !$::Root
--- config
    # workers run as www-data
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_NOBODY700;
    }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: trtc_logger_spool directory "[^"]*/nobody700" is not writable by the worker processes in \S+/conf/nginx\.conf:\d+}



=== TEST 23: a spool only nobody can write, workers run as nobody: starts
--- skip_eval: 2: !$::Root
--- config
    # workers run as nobody nogroup
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_logger_spool $TEST_NGINX_SPOOL_NOBODY700;
    }
--- raw_request eval
main::post('/logger/upload', 'log line')
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- response_body
ok



=== TEST 24: a root 0755 spool, workers run as root (`user root;` after http{}): starts
--- skip_eval: 2: !$::Root
--- config
    # workers run as root
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_2/;
        trtc_logger_spool $TEST_NGINX_SPOOL_ROOT755;
    }
--- raw_request eval
main::post('/logger/upload', 'log line')
--- tcp_listen: $TEST_NGINX_RAND_PORT_2
--- tcp_reply eval: $::Ok
--- response_body
ok
