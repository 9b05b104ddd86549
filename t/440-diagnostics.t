# vi:filetype=perl
#
# trtc_diagnostics: the page (CSP hashes that match its one script and
# style, its configuration block, nothing external), the methods, the
# report store (bounded, newest first, counted by verdict in JSON,
# Prometheus and HTML), every hostile report body refused with 400 and
# counted, a stored report shown back escaped, and every configuration
# error naming file and line.  The page in real browsers, and the test
# upload and WebSocket counted apart, are in t/431 and the e2e tests.

use Test::Nginx::Socket;

use Cwd qw(abs_path);
use Digest::SHA qw(sha256_base64);
use File::Basename qw(dirname);
use JSON::PP;

# The CSP the page must be served with, from the page in the tree.
my $page = do {
    local (@ARGV, $/) = (dirname(abs_path(__FILE__))
                         . '/../ngx_trtc_module/ngx_http_trtc_diagnostics.html');
    <>;
};
my ($script) = $page =~ m{<script>(.*?)</script>}s;
my ($style) = $page =~ m{<style>(.*?)</style>}s;
our $Csp = "default-src 'none'; script-src 'sha256-" . sha256_base64($script)
    . "='; style-src 'sha256-" . sha256_base64($style) . "='; connect-src "
    . "'self' wss://localhost; img-src data:; base-uri 'none'; "
    . "form-action 'none'; frame-ancestors 'none'";

add_block_preprocessor(sub {
    my $block = shift;
    if (!defined $block->user_files) {
        $block->set_value("user_files", <<"EOF");
>>> cred
realm  trtc
secret s3cr3t
EOF
    }
    $block->set_value("http_config",
        "trtc_credentials \$TEST_NGINX_SERVER_ROOT/html/cred;\n"
        . "upstream turns { server 127.0.0.1:3478; server 127.0.0.2:3478 "
        . "down; }\n" . ($block->http_config // ''));
});

# The page's configuration block, decoded, as "key=value" lines.
sub main::config_block {
    my $body = shift;
    my ($json) = $body =~ m{<script type="application/json" id="trtc-config">(.*?)</script>}s
        or return "no configuration block\n";
    my $c = eval { decode_json($json) } or return "not JSON: $json\n";
    return CORE::join '', map {
        my $v = $c->{$_};
        "$_=" . (ref $v ? JSON::PP->new->canonical->encode($v)
                 : defined $v ? $v : 'null') . "\n"
    } sort keys %$c;
}

# What the status JSON says of the reports: totals, then one line each.
sub main::reports {
    my $d = eval { decode_json(shift) } or return "not JSON\n";
    my $g = $d->{diagnostics} or return "no diagnostics\n";
    my $out = "done=$g->{reports_total}{done} blocked="
        . "$g->{reports_total}{blocked} refused=$g->{refused} "
        . "kept=$g->{kept}\n";
    for my $r (@{ $g->{reports} }) {
        $out .= "$r->{seq} $r->{verdict} $r->{client} "
            . "ua=$r->{user_agent} result.n=" . ($r->{result}{n} // '-')
            . (abs($r->{time} - time) < 10 ? ' now' : ' time?') . "\n";
    }
    return $out;
}

our $Locs = <<'_EOC_';
    location = /trtc/proxy {
        trtc_proxy_config turn=turns turn=turn:10.9.9.9:3478;
    }
    location = /trtc/check { trtc_diagnostics report=on reports=3; }
    location = /trtc/status { trtc_status; }
_EOC_

# One filter for every answer of a block: the status JSON becomes its
# reports, a page its stored report, a 400/404 page its code.
sub main::answer {
    my $b = shift;
    return main::reports($b) if $b =~ /^\{"version"/;
    if ($b =~ /<!DOCTYPE html>/) {
        return "closes the script\n" if $b =~ m{alert\(1\)</script>};
        my ($s) = main::config_block($b) =~ /^show=(.*)$/m;
        return "show=$s\n";
    }
    return "$1\n" if $b =~ /<title>(\d+) /;
    return $b;
}

sub main::report {
    my ($verdict, $n) = @_;
    return "POST /trtc/check\n"
        . qq({"version":1,"verdict":"$verdict","n":$n,"paths":[{"id":"https","ok":true}]});
}

# Debian's libnginx-mod-stream, for the PROXY protocol (TEST 19)
$ENV{TEST_NGINX_STREAM_MODULE} ||=
    '/usr/lib/nginx/modules/ngx_stream_module.so';

no_shuffle();
no_long_string();
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: the page: strict CSP with the hashes of its script and style, its configuration, nothing external
--- config eval: $::Locs
--- request
GET /trtc/check
--- response_headers eval
"Content-Security-Policy: $::Csp
Content-Type: text/html; charset=utf-8
Cache-Control: no-store
X-Content-Type-Options: nosniff
Referrer-Policy: no-referrer"
--- response_body_filters eval
sub {
    my $b = shift;
    my @ext = $b =~ m{((?:src|href)\s*=\s*["']?(?:https?:)?//[^"' >]*)}gi;
    return "external: @ext\n" if @ext;
    my @scripts = $b =~ m{<script}g;
    my @inline = $b =~ m{\son[a-z]+=}g;
    return "scripts: " . scalar(@scripts) . ", inline handlers: "
        . scalar(@inline) . "\n" . main::config_block($b);
}
--- response_body eval
"scripts: 2, inline handlers: 0
host=localhost
loggerProxy=http://localhost/logger/
port=$ENV{TEST_NGINX_SERVER_PORT}
proxy=/trtc/proxy
report=true
show=null
turn=[{\"addr\":\"127.0.0.1:3478\",\"transport\":\"udp tcp\",\"usable\":true},{\"addr\":\"127.0.0.2:3478\",\"transport\":\"udp tcp\",\"usable\":false},{\"addr\":\"10.9.9.9:3478\",\"transport\":\"udp\",\"usable\":true}]
websocketProxy=ws://localhost/ws/
"



=== TEST 2: methods: HEAD has no body; POST without report=on and PUT are 405 with Allow
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /off { trtc_diagnostics; }
    location = /on { trtc_diagnostics report=on; }
--- request eval
["HEAD /off", "POST /off\n{}", "PUT /on\n{}", "DELETE /on"]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 405, 405, 405]
--- response_headers eval
["Content-Type: text/html; charset=utf-8", "Allow: GET, HEAD", "Allow: GET, HEAD, POST", "Allow: GET, HEAD, POST"]
--- response_body eval
["", qr/405/, qr/405/, qr/405/]



=== TEST 3: reports are kept, newest first, with client and User-Agent; counted by verdict; bounded (reports=3)
--- config eval: $::Locs
--- request eval
[main::report('done', 0), main::report('blocked', 1), main::report('done', 2),
 main::report('blocked', 3), main::report('done', 4),
 "GET /trtc/status?format=json"]
--- more_headers
Content-Type: application/json
User-Agent: Tester/1.0 "quoted"
--- error_code eval
[204, 204, 204, 204, 204, 200]
--- response_body_filters eval
\&main::answer
--- response_body eval
["", "", "", "", "", 'done=3 blocked=2 refused=0 kept=3
4 done 127.0.0.1 ua=Tester/1.0 "quoted" result.n=4 now
3 blocked 127.0.0.1 ua=Tester/1.0 "quoted" result.n=3 now
2 done 127.0.0.1 ua=Tester/1.0 "quoted" result.n=2 now
']
--- no_error_log
[error]



=== TEST 4: Prometheus counts by verdict; the HTML lists each report escaped, with a link to it
--- config eval: $::Locs
--- request eval
[main::report('done', 0), main::report('blocked', 1),
 "POST /trtc/check\n[]",
 "GET /trtc/status?format=prometheus", "GET /trtc/status?format=html"]
--- more_headers
Content-Type: application/json
User-Agent: <b>agent</b>
--- error_code eval
[204, 204, 400, 200, 200]
--- response_body_like eval
["", "", qr/400/,
 qr/^trtc_diagnostics_reports_total\{verdict="done"\} 1\ntrtc_diagnostics_reports_total\{verdict="blocked"\} 1\n.*^trtc_diagnostics_reports_refused_total 1$/ms,
 qr{done: 1, blocked: 1, refused: 1.*<td>127\.0\.0\.1</td><td>&lt;b&gt;agent&lt;/b&gt;</td><td class="down">blocked</td><td><a href="/trtc/check\?show=1">.*<td class="up">done</td><td><a href="/trtc/check\?show=0">}s]



=== TEST 5: a stored report shown back (?show=): embedded escaped, nothing of it can close the script; gone once pushed out, 404
--- config eval: $::Locs
--- request eval
["POST /trtc/check\n" . '{"verdict":"blocked","x":"</script><script>alert(1)</script>&"}',
 "GET /trtc/check?show=last", "GET /trtc/check?show=0",
 main::report('done', 1), main::report('done', 2), main::report('done', 3),
 "GET /trtc/check?show=0", "GET /trtc/check?show=3", "GET /trtc/check?show=9",
 "GET /trtc/check?show=x"]
--- more_headers
Content-Type: application/json
--- error_code eval
[204, 200, 200, 204, 204, 204, 404, 200, 404, 404]
--- response_body_filters eval
\&main::answer
--- response_body eval
["", ('show={"verdict":"blocked","x":"</script><script>alert(1)</script>&"}' . "\n") x 2,
 "", "", "", "404\n",
 qq(show={"n":3,"paths":[{"id":"https","ok":true}],"verdict":"done","version":1}\n),
 "404\n", "404\n"]



=== TEST 6: hostile report bodies: each refused with 400 and counted, nothing stored; the store still takes a good one
--- config eval: $::Locs
--- request eval
my $deep = '{"verdict":"done","a":' . ('[' x 6) . (']' x 6) . '}';
my $wide = '{"verdict":"done",' . CORE::join(',', map { qq("k$_":1) } 1 .. 64) . '}';
[
 "POST /trtc/check\n" . ('x' x 4097),
 "POST /trtc/check\n[1,2]",
 "POST /trtc/check\n\"done\"",
 "POST /trtc/check\n" . '{"verdict":"done"',
 "POST /trtc/check\n" . '{"verdict":"done"} x',
 "POST /trtc/check\n" . '{"verdict":"done"}{}',
 "POST /trtc/check\n" . '{"verdict":"maybe"}',
 "POST /trtc/check\n" . '{"verdict":"done\u0000"}',
 "POST /trtc/check\n" . '{"other":"done"}',
 "POST /trtc/check\n" . '{"verdict":"done","s":"' . ('a' x 513) . '"}',
 "POST /trtc/check\n" . qq({"verdict":"done","s":"\xff"}),
 "POST /trtc/check\n" . qq({"verdict":"done","s":"\xc0\xaf"}),
 "POST /trtc/check\n" . qq({"verdict":"done","s":"a\nb"}),
 "POST /trtc/check\n" . '{"verdict":"done","s":"\q"}',
 "POST /trtc/check\n" . '{"verdict":"done","n":0123}',
 "POST /trtc/check\n" . '{"verdict":"done","n":1.}',
 "POST /trtc/check\n" . '{"verdict":"done","n":' . ('9' x 40) . '}',
 "POST /trtc/check\n" . '{"verdict":"done",}',
 "POST /trtc/check\n" . '{"verdict":done}',
 "POST /trtc/check\n" . $deep,
 "POST /trtc/check\n" . $wide,
 "POST /trtc/check\n" . '{"verdict":"done"}',
 "GET /trtc/status?format=json",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[(400) x 21, 204, 200]
--- response_body_filters eval
\&main::answer
--- response_body eval
[("400\n") x 21, "", "done=1 blocked=0 refused=21 kept=3
0 done 127.0.0.1 ua= result.n=- now
"]



=== TEST 7: refused before the body is read: no Content-Type, another type, another origin
--- config eval: $::Locs
--- request eval
["POST /trtc/check\n{\"verdict\":\"done\"}",
 "POST /trtc/check\n{\"verdict\":\"done\"}",
 "POST /trtc/check\n{\"verdict\":\"done\"}",
 "POST /trtc/check\n{\"verdict\":\"done\"}",
 "GET /trtc/status?format=json"]
--- more_headers eval
["", "Content-Type: text/plain",
 "Content-Type: application/json\nOrigin: https://evil.test",
 "Content-Type: application/json; charset=utf-8\nOrigin: http://localhost",
 ""]
--- error_code eval
[400, 400, 400, 204, 200]
--- response_body_filters eval
\&main::answer
--- response_body eval
[("400\n") x 3, "", "done=1 blocked=0 refused=3 kept=3
0 done 127.0.0.1 ua= result.n=- now
"]



=== TEST 8: a Content-Length over 4096 is refused before the body is read (nginx discards it), the connection closed (over client_max_body_size, nginx answers 413 itself)
--- config eval: $::Locs
--- raw_request eval
"POST /trtc/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" . ('x' x 100000)
--- error_code: 400
--- response_headers
Connection: close
--- timeout: 3
--- error_log
report refused: body too large



=== TEST 9: chunked report bodies are refused
--- config eval: $::Locs
--- raw_request eval
"POST /trtc/check HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n12\r\n{\"verdict\":\"done\"}\r\n0\r\n\r\n"
--- error_code: 400
--- error_log
report refused: no Content-Length



=== TEST 10: config error: an unknown parameter, at file:line
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics report=yes; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: invalid parameter "report=yes" in \S+/conf/nginx\.conf:\d+}



=== TEST 11: config error: reports= out of range, and without report=on
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics report=on reports=0; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "reports=0": the number of reports kept must be 1 to 1024 in \S+/conf/nginx\.conf:\d+}



=== TEST 12: config error: reports= without report=on
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics reports=10; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "reports=" needs "report=on" in \S+/conf/nginx\.conf:\d+}



=== TEST 13: config error: proxy= must be a URI on this server
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics proxy=https://x/trtc/proxy; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "proxy=" takes the URI of a "trtc_proxy_config" location on this server, such as /trtc/proxy, not "https://x/trtc/proxy" in \S+/conf/nginx\.conf:\d+}



=== TEST 14: config error: proxy= names no trtc_proxy_config location (nginx -t fails, naming the directive's line)
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /other { return 200; }
    location = /c { trtc_diagnostics proxy=/other; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_diagnostics": no "trtc_proxy_config" location "/other" in \S+/conf/nginx\.conf:\d+}



=== TEST 15: config error: nothing to test
--- config
    location = /c { trtc_diagnostics; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_diagnostics" needs a location with "trtc_proxy_config" to test in \S+/conf/nginx\.conf:\d+}



=== TEST 16: config error: two trtc_proxy_config locations and no proxy=; with proxy= it starts
--- config
    location = /a { trtc_proxy_config turn=turns; }
    location = /b { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_diagnostics": 2 locations have "trtc_proxy_config"; say which with "proxy=" in \S+/conf/nginx\.conf:\d+}



=== TEST 17: proxy= picks one of several
--- config
    location = /a { trtc_proxy_config turn=turns; }
    location = /b { trtc_proxy_config turn=turn:10.1.1.1:3478; }
    location = /c { trtc_diagnostics proxy=/b; }
--- request
GET /c
--- response_body_filters eval
sub { CORE::join '', grep { /^(proxy|turn)=/ } split /^/, main::config_block($_[0]) }
--- response_body
proxy=/b
turn=[{"addr":"10.1.1.1:3478","transport":"udp","usable":true}]



=== TEST 18: config error: the directive twice, or with another content handler
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turns; }
    location = /c { trtc_diagnostics; trtc_diagnostics; }
--- must_die
--- error_log eval
qr{\[emerg\] \d+#\d+: "trtc_diagnostics" directive is duplicate in \S+/conf/nginx\.conf:\d+}



=== TEST 19: behind nginx's stream module (the PROXY protocol, as README's "Deploying: one port 443" has it), the page names the port the user dialled, not the http server's own
--- main_config
    load_module $TEST_NGINX_STREAM_MODULE;
    stream {
        server {
            listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
            proxy_pass 127.0.0.1:$TEST_NGINX_RAND_PORT_2;
            proxy_protocol on;
        }
    }
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_2 proxy_protocol;
        location = /trtc/proxy { trtc_proxy_config turn=turn:10.1.1.1:3478; }
        location = /trtc/check { trtc_diagnostics; }
    }
--- config
    location = /via {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_1/trtc/check;
    }
--- request
GET /via
--- response_body_filters eval
sub {
    my $c = main::config_block($_[0]);
    my ($port) = $c =~ /^port=(\d+)$/m;
    my ($dialled) = $c =~ m{^websocketProxy=ws://[^/:]+:(\d+)/}m;
    return "port $port, dialled " . ($dialled // 'none') . "\n"
        if !$port || !$dialled || $port != $dialled;
    return "port: the one dialled\n";
}
--- response_body
port: the one dialled
