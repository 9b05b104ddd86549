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
# passes the request on as it got it, adding X-SNI.  The mock reads the
# whole request, until nginx has been quiet for tcp_query_auto_timeout:
# without it a mock (ours and the real Test::Nginx's) reads as many bytes
# as tcp_query's regex has characters, then waits for ever or stops short.

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
# after http{}) names USER for that block, and nginx runs with a master
# process (without one, nothing switches users).  Both runners, ours and
# the real Test::Nginx, read TEST_NGINX_WORKER_USER once, when they load,
# into $Test::Nginx::Util::WorkerUser, and write the line from that.
my $user_default = $Test::Nginx::Util::WorkerUser;
my $master = master_process_enabled() eq 'on';
add_block_preprocessor(sub {
    my $block = shift;
    if (($block->config // '') =~ /^\s*# workers run as (\S.*?)\s*$/m) {
        $Test::Nginx::Util::WorkerUser = $1;
        master_on();
    } else {
        $Test::Nginx::Util::WorkerUser = $user_default;
        master_process_enabled($master);
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
    # the body byte for byte: case-sensitive
    $re .= '(?:[^\r\n]+\r\n)*\r\n(?-i:' . quotemeta($body // '') . ')\z';
    return qr/$re/msi;
}

our $Ok = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n"
          . "\r\nok\n";

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
--- tcp_query_auto_timeout: 0.3
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
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



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
--- tcp_query_auto_timeout: 0.3
--- tcp_reply eval: $::Ok
--- tcp_query eval
main::req_like('POST /upload HTTP/1.0',
               ['Host: yun.test', 'X-SNI: yun.test',
                'X-Forwarded-For: 127.0.0.1',
                'Content-Length: ' . length $::Body], [], $::Body)
--- response_body
ok
--- error_log
a client request body is buffered to a temporary file
--- no_error_log
[error]



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
--- tcp_query_auto_timeout: 0.3
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
--- tcp_query_auto_timeout: 0.3
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
--- http_config
    # a sink: the mock cannot report a query over 64 KiB
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_3;
        client_max_body_size 10m;
        location / {
            return 200 "got $content_length\n";
        }
    }
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_3/;
    }
--- raw_request eval
main::post('/logger/upload', 'y' x 1048576)
--- response_body
got 1048576



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
main::emerg('invalid parameter "timeout=10s" in "trtc_logger_pass"')



=== TEST 12: config error: bad max_body=
--- config
    location /logger/ {
        trtc_logger_pass https://127.0.0.1:1/ max_body=lots;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "max_body=lots" in "trtc_logger_pass"')



=== TEST 13: config error: not an http(s) URL
--- config
    location /logger/ {
        trtc_logger_pass yun.test/upload;
    }
--- must_die
--- error_log eval
main::emerg('invalid URL "yun.test/upload" in "trtc_logger_pass": ',
            'http:// or https:// expected')



=== TEST 14: config error: proxy_pass, then trtc_logger_pass
--- config
    location /logger/ {
        proxy_pass http://127.0.0.1:1/;
        trtc_logger_pass https://127.0.0.1:2/;
    }
--- must_die
--- error_log eval
main::emerg('"proxy_pass" (as set by "trtc_logger_pass") is duplicate')



=== TEST 15: config error: the spool directory is missing
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_MISSING;
    }
--- must_die
--- error_log eval
main::emerg('trtc_logger_spool directory "', qr/[^"]*/,
            '/missing" is missing (2: No such file or directory)')



=== TEST 16: config error: the spool "directory" is a file
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_FILE;
    }
--- must_die
--- error_log eval
main::emerg('trtc_logger_spool "', qr/[^"]*/, '/file" is not a directory')



=== TEST 17: config error: spool without trtc_logger_pass
--- config
    location /logger/ {
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
main::emerg('"trtc_logger_spool" needs "trtc_logger_pass" ',
            'in the same location')



=== TEST 18: config error: spool with trtc_signaling_pass
--- config
    location /ws/ {
        trtc_signaling_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
main::emerg('"trtc_logger_spool" needs "trtc_logger_pass" ',
            'in the same location')



=== TEST 19: config error: spool twice
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
main::emerg('"trtc_logger_spool" directive is duplicate')



=== TEST 20: config error: bad max_size=
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN max_size=0;
    }
--- must_die
--- error_log eval
main::emerg('invalid parameter "max_size=0" in "trtc_logger_spool"')



=== TEST 21: config error: two spools in one directory (two replayers)
--- config
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
    location /logger2/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN/;
    }
--- must_die
--- error_log eval
main::emerg(qr/.*"[^"]*/, '/open"', qr/.*/)



=== TEST 22: config error: a spool behind a URL with variables (no replay)
--- config
    location /logger/ {
        set $t 127.0.0.1:1;
        trtc_logger_pass http://$t/;
        trtc_logger_spool $TEST_NGINX_SPOOL_OPEN;
    }
--- must_die
--- error_log eval
main::emerg(qr/variables are not supported in the URL of "trtc_logger_pass": name an upstream\{\} block instead/)



=== TEST 23: config error: a root 0755 spool, workers run as nobody
--- skip_eval: 2: !$::Root
--- config
    # workers run as nobody nogroup
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_ROOT755;
    }
--- must_die
--- error_log eval
main::emerg('trtc_logger_spool directory "', qr/[^"]*/,
            '/root755" is not writable by the worker processes')



=== TEST 24: config error: a spool only nobody writes, workers are www-data
--- skip_eval: 2: !$::Root
--- config
    # workers run as www-data
    location /logger/ {
        trtc_logger_pass http://127.0.0.1:1/;
        trtc_logger_spool $TEST_NGINX_SPOOL_NOBODY700;
    }
--- must_die
--- error_log eval
main::emerg('trtc_logger_spool directory "', qr/[^"]*/,
            '/nobody700" is not writable by the worker processes')



=== TEST 25: a spool only nobody can write, workers run as nobody: starts
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



=== TEST 26: a root 0755 spool, `user root;` after http{}: starts
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
