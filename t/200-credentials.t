# vi:filetype=perl
#
# trtc_credentials, trtc_turn_credentials, trtc_proxy_config and
# trtc_allow_origin: the JSON answers (checked by decoding them and
# recomputing the password with Digest::SHA), the refusals, and every
# configuration error nginx -t must report.  Rotation at run time is in
# t/210-credentials-rotation.t.

use Test::Nginx::Socket;

use Digest::SHA qw(hmac_sha1_base64);
use Encode qw(encode_utf8);
use JSON::PP;

our $Secret = 's3cr3t-first';

# Blocks without their own get the credentials file and trtc_credentials.
add_block_preprocessor(sub {
    my $block = shift;

    if (!defined $block->user_files) {
        $block->set_value("user_files", <<"EOF");
>>> cred
realm  trtc
secret $Secret      # signs
secret s3cr3t-second
user   turn turn
EOF
    }

    if (!defined $block->http_config) {
        $block->set_value("http_config",
            "trtc_credentials \$TEST_NGINX_SERVER_ROOT/html/cred;\n");
    }
});

# The checks of one answer, as a body filter: "ok\n" or what is wrong.
#   rest  => 1 for trtc_turn_credentials, else trtc_proxy_config
#   name  => the NAME of EXPIRY:NAME (undef: a bare EXPIRY), ttl => seconds
#   uris  => [...] (rest), urls => [...] (proxy), array => turnServer is one
#   ice   => [[...], ...] (proxy): each server's "urls", in order
#   ws, logger, policy => the proxy object's other fields
sub check {
    my %w = (ttl => 86400, name => 'trtc', policy => 'all',
             ws => 'ws://localhost/ws/', logger => 'http://localhost/logger/',
             @_);

    return sub {
        my $body = shift;
        my $j = eval { decode_json($body) };
        return "not JSON: $body" unless ref $j eq 'HASH';
        my $r = eval {
            local $SIG{__WARN__} = sub { die @_ };   # a missing field
            check_json($j, \%w);
        };
        return defined $r ? $r : "bad shape: $@$body";
    };
}

sub check_json {
    my ($j, $w) = @_;
    my %w = %$w;
    my @err;

    my $cred = sub {
        my ($user, $pass, $what) = @_;
        my ($exp, $name) = ($user // '') =~ /^(\d+)(?::(.*))?\z/s
            or return push @err, "$what: bad username";
        push @err, "$what: name " . ($name // 'undef')
            if ($name // "\0") ne ($w{name} // "\0");
        push @err, "$what: expiry $exp is not now + $w{ttl}"
            if abs($exp - time - $w{ttl}) > 5;
        my $want = hmac_sha1_base64(encode_utf8($user), $Secret) . '=';
        push @err, "$what: password $pass is not $want"
            if $pass ne $want;
    };

    if ($w{rest}) {
        my $keys = join ',', sort keys %$j;
        push @err, "keys $keys"
            if $keys ne 'password,ttl,uris,username';
        $cred->($j->{username}, $j->{password}, 'rest');
        push @err, "ttl $j->{ttl}" if $j->{ttl} != $w{ttl};
        my $uris = join ' ', @{ $j->{uris} };
        push @err, "uris $uris" if $uris ne join ' ', @{ $w{uris} };

    } else {
        my $keys = join ',', sort keys %$j;
        push @err, "keys $keys" if $keys ne
            'iceTransportPolicy,loggerProxy,turnServer,websocketProxy';
        push @err, "websocketProxy $j->{websocketProxy}"
            if $j->{websocketProxy} ne $w{ws};
        push @err, "loggerProxy $j->{loggerProxy}"
            if $j->{loggerProxy} ne $w{logger};
        push @err, "iceTransportPolicy $j->{iceTransportPolicy}"
            if $j->{iceTransportPolicy} ne $w{policy};

        my $ts = $j->{turnServer};
        push @err, "turnServer is " . (ref $ts ? ref $ts : 'scalar')
            if ref $ts ne ($w{array} ? 'ARRAY' : 'HASH');
        my @ts = ref $ts eq 'ARRAY' ? @$ts : ($ts);
        for my $t (@ts) {
            my $keys = join ',', sort keys %$t;
            push @err, "turnServer keys $keys" if $keys ne
                'credential,credentialType,url,urls,username';
            push @err, "credentialType $t->{credentialType}"
                if $t->{credentialType} ne 'password';
            $cred->($t->{username}, $t->{credential}, $t->{url});
        }
        my $urls = join ' ', map { $_->{url} } @ts;
        push @err, "urls $urls" if $urls ne join ' ', @{ $w{urls} };
        # ice => [[URL, ...], ...]: each server's urls, in order
        if ($w{ice}) {
            my $ice = join ' | ', map { join ' ', @{ $_->{urls} } } @ts;
            push @err, "ice $ice"
                if $ice ne join ' | ', map { join ' ', @$_ } @{ $w{ice} };
        }
    }

    return @err ? join("\n", @err) . "\n" : "ok\n";
}

plan 'no_plan';

no_long_string();
run_tests();

__DATA__

=== TEST 1: trtc_turn_credentials: the REST answer, signed by the first secret
--- config
    location = /t {
        trtc_turn_credentials turn=turn:14.3.3.3:3478?transport=udp
                              turn=turns:turn.example.com:443;
    }
--- request
GET /t
--- response_headers
Content-Type: application/json
Cache-Control: no-store
Vary: Origin
!Access-Control-Allow-Origin
--- response_body_filters eval
main::check(rest => 1, uris => ['turn:14.3.3.3:3478?transport=udp',
                                'turns:turn.example.com:443'])
--- response_body
ok
--- no_error_log
s3cr3t
[error]



=== TEST 2: ttl= and the name from a variable
--- config
    location = /t {
        trtc_turn_credentials turn=turn:127.0.0.1:3478 ttl=1h
                              name=user-$arg_user;
    }
--- request
GET /t?user=bob
--- response_body_filters eval
main::check(rest => 1, ttl => 3600, name => 'user-bob',
            uris => ['turn:127.0.0.1:3478'])
--- response_body
ok
--- no_error_log
[error]



=== TEST 3: a name that evaluates to "" gives a bare EXPIRY username
--- config
    location = /t {
        trtc_turn_credentials turn=turn:127.0.0.1:3478 name=$arg_user;
    }
--- request
GET /t
--- response_body_filters eval
main::check(rest => 1, name => undef, uris => ['turn:127.0.0.1:3478'])
--- response_body
ok



=== TEST 4: JSON escaping: quotes, backslashes and UTF-8 in the name
--- config
    location = /t {
        trtc_turn_credentials turn=turn:127.0.0.1:3478
                              'name=a"b\\c/é';
    }
--- request
GET /t
--- response_body_filters eval
main::check(rest => 1, name => "a\"b\\c/\x{e9}",
            uris => ['turn:127.0.0.1:3478'])
--- response_body
ok



=== TEST 5: a name with a control character is refused, not signed
--- config
    location = /t {
        trtc_turn_credentials turn=turn:127.0.0.1:3478 "name=a\tb";
    }
--- request
GET /t
--- error_code: 400
--- error_log
TURN user name from "name=" is not printable UTF-8



=== TEST 6: trtc_proxy_config: the SDK object, one server is an object
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478?transport=udp
                          turn=turn:14.3.3.3:3478?transport=tcp;
    }
--- request
GET /trtc/proxy
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'])
--- response_body
ok
--- no_error_log
[error]



=== TEST 7: policy=relay, websocket= and logger= from variables, ttl=
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478 policy=relay ttl=10m
                          websocket=wss://$host/trtc/ws/
                          logger=https://logs.example.com/$arg_app/;
    }
--- request
GET /trtc/proxy?app=x
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'], policy => 'relay', ttl => 600,
            ws => 'wss://localhost/trtc/ws/',
            logger => 'https://logs.example.com/x/')
--- response_body
ok



=== TEST 8: the default proxies follow the Host header, port included
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478 policy=all;
    }
--- request
GET /trtc/proxy
--- more_headers
Host: proxy.example.com:8443
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'],
            ws => 'ws://proxy.example.com:8443/ws/',
            logger => 'http://proxy.example.com:8443/logger/')
--- response_body
ok



=== TEST 9: several TURN servers: turnServer is an array
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478 turn=turn:[2001:db8::1]:3478;
    }
--- request
GET /trtc/proxy
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478', '[2001:db8::1]:3478'], array => 1)
--- response_body
ok



=== TEST 10: turn_server=object hands out the first server only
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478 turn=turn:14.3.3.4:3478
                          turn_server=object;
    }
--- request
GET /trtc/proxy
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'])
--- response_body
ok



=== TEST 11: turn_server=array: an array even of one (the call engine)
--- config
    location = /trtc/proxy {
        trtc_proxy_config turn=turn:14.3.3.3:3478 turn_server=array;
    }
--- request
GET /trtc/proxy
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'], array => 1)
--- response_body
ok



=== TEST 12: an upstream of turnd nodes: peers marked down are not listed
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream trtc_turn {
        server 127.0.0.1:3478;
        server 127.0.0.2:3478 down;
        server [::1]:3479;
        server 127.0.0.4:3478 backup;
    }
--- config
    location = /rest { trtc_turn_credentials turn=trtc_turn; }
    location = /proxy { trtc_proxy_config turn=trtc_turn; }
--- request eval
["GET /rest", "GET /proxy"]
--- response_body_filters eval
[[main::check(rest => 1, uris => ['turn:127.0.0.1:3478?transport=udp',
                                  'turn:127.0.0.1:3478?transport=tcp',
                                  'turn:[::1]:3479?transport=udp',
                                  'turn:[::1]:3479?transport=tcp'])],
 [main::check(urls => ['127.0.0.1:3478', '[::1]:3479'], array => 1)]]
--- response_body eval
["ok\n", "ok\n"]
--- no_error_log
[error]



=== TEST 13: an upstream with a zone; backups stand in when all are down
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream trtc_turn {
        zone trtc_turn 64k;
        server 127.0.0.1:3478 down;
        server 127.0.0.4:3478 backup;
    }
--- config
    location = /proxy {
        trtc_proxy_config turn=trtc_turn turn=turn:14.3.3.3:3478;
    }
--- request
GET /proxy
--- response_body_filters eval
main::check(urls => ['127.0.0.4:3478', '14.3.3.3:3478'], array => 1)
--- response_body
ok



=== TEST 14: no usable TURN server: 503, said in the log
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream trtc_turn {
        server 127.0.0.1:3478 down;
    }
--- config
    location = /proxy { trtc_proxy_config turn=trtc_turn; }
--- request
GET /proxy
--- error_code: 503
--- error_log
no usable TURN server for "trtc_proxy_config"



=== TEST 15: HEAD: the headers of the answer, no body
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
HEAD /t
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_headers_like
Content-Length: \d+
--- response_body



=== TEST 16: POST is 405 with Allow, on both directives
--- config
    location = /rest { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
    location = /proxy { trtc_proxy_config turn=turn:127.0.0.1:3478; }
--- request eval
["POST /rest\nx", "PUT /proxy\nx", "DELETE /proxy"]
--- error_code eval
[405, 405, 405]
--- response_headers eval
["Allow: GET, HEAD", "Allow: GET, HEAD", "Allow: GET, HEAD"]



=== TEST 17: an Origin that is not allowed: 403, no CORS headers
--- config
    trtc_allow_origin https://app.example.com;
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- more_headers
Origin: https://evil.example.com
--- error_code: 403
--- response_headers
!Access-Control-Allow-Origin
--- error_log
origin "https://evil.example.com" is not allowed by trtc_allow_origin



=== TEST 18: without trtc_allow_origin no cross origin is allowed
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- more_headers
Origin: https://app.example.com
--- error_code: 403



=== TEST 19: an exact origin: CORS headers echo it (case-insensitive)
--- config
    location = /t {
        trtc_allow_origin https://app.example.com http://localhost:8080;
        trtc_turn_credentials turn=turn:127.0.0.1:3478;
    }
--- request eval
["GET /t", "GET /t"]
--- more_headers eval
["Origin: https://app.example.com", "Origin: HTTPS://APP.example.com"]
--- response_headers eval
["Access-Control-Allow-Origin: https://app.example.com
Access-Control-Allow-Credentials: true
Vary: Origin
Cache-Control: no-store",
"Access-Control-Allow-Origin: HTTPS://APP.example.com"]



=== TEST 20: regex origins ("~", "~*"), several directives add up
--- config
    trtc_allow_origin "~^https://[a-z0-9-]+\.example\.org$";
    trtc_allow_origin "~*^https://APP\.example\.net$" https://a.example.com;
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request eval
["GET /t", "GET /t", "GET /t", "GET /t", "GET /t"]
--- more_headers eval
["Origin: https://call-1.example.org",
 "Origin: https://app.example.net",
 "Origin: https://a.example.com",
 "Origin: https://x.example.org.evil.com",
 "Origin: https://Call.example.org"]
--- error_code eval
[200, 200, 200, 403, 403]
--- response_headers eval
["Access-Control-Allow-Origin: https://call-1.example.org",
 "Access-Control-Allow-Origin: https://app.example.net",
 "Access-Control-Allow-Origin: https://a.example.com",
 "!Access-Control-Allow-Origin",
 "!Access-Control-Allow-Origin"]



=== TEST 21: the request's own origin is no CORS request
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- more_headers
Origin: http://localhost
--- error_code: 200
--- response_headers
!Access-Control-Allow-Origin



=== TEST 22: several Origin headers are refused
--- config
    trtc_allow_origin https://app.example.com;
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- more_headers
Origin: https://app.example.com
Origin: https://evil.example.com
--- error_code: 403



=== TEST 23: a preflight from an allowed origin: 204 with the methods
--- config
    trtc_allow_origin https://app.example.com;
    location = /t { trtc_proxy_config turn=turn:127.0.0.1:3478; }
--- request
OPTIONS /t
--- more_headers
Origin: https://app.example.com
Access-Control-Request-Method: GET
Access-Control-Request-Headers: authorization
--- error_code: 204
--- response_headers
Access-Control-Allow-Origin: https://app.example.com
Access-Control-Allow-Methods: GET, HEAD
Access-Control-Allow-Headers: authorization
Vary: Origin
--- response_body



=== TEST 24: a preflight from another origin is 403; OPTIONS without Origin 405
--- config
    trtc_allow_origin https://app.example.com;
    location = /t { trtc_proxy_config turn=turn:127.0.0.1:3478; }
--- request eval
["OPTIONS /t", "OPTIONS /t"]
--- more_headers eval
["Origin: https://evil.example.com\nAccess-Control-Request-Method: GET",
 "Access-Control-Request-Method: GET"]
--- error_code eval
[403, 405]



=== TEST 25: POST from an allowed origin: 405 the browser can read
--- config
    trtc_allow_origin https://app.example.com;
    location = /t { trtc_proxy_config turn=turn:127.0.0.1:3478; }
--- request
POST /t
x
--- more_headers
Origin: https://app.example.com
--- error_code: 405
--- response_headers
Access-Control-Allow-Origin: https://app.example.com
Allow: GET, HEAD



=== TEST 26: a credentials file others can read draws a warning, no secret
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- error_log eval
qr/\[warn\].*credentials file ".*\/html\/cred" is accessible by others; its secrets should not be \(chmod o-rwx\) in .*nginx\.conf:\d+/
--- no_error_log
s3cr3t



=== TEST 27: no trtc_credentials: nginx -t names the directive's file:line
--- http_config
--- config
    location = /t { trtc_proxy_config turn=turn:127.0.0.1:3478; }
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_proxy_config" needs "trtc_credentials" at http level in \S+\/nginx\.conf:\d+/



=== TEST 28: no secret in the file, but a location signs with it
--- user_files
>>> cred
realm trtc
user  turn turn
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_turn_credentials" needs a "secret" line in credentials file "\S+\/html\/cred" in \S+\/nginx\.conf:\d+/



=== TEST 29: a file without a secret is fine when nothing signs
--- user_files
>>> cred
realm trtc
user  turn turn
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 30: a syntax error names the credentials file and line
--- user_files
>>> cred
realm trtc
secret s3cr3t-first
sekret s3cr3t-second
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- must_die
--- error_log eval
qr/\[emerg\].*\/html\/cred:3: .* in \S+\/nginx\.conf:\d+/
--- no_error_log
s3cr3t



=== TEST 31: a missing credentials file
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/nonexistent;
--- config
--- must_die
--- error_log eval
qr/\[emerg\].*"\S+\/html\/nonexistent" failed \(2: No such file or directory\) in \S+\/nginx\.conf:\d+/



=== TEST 32: trtc_credentials twice; and not in a server block
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
--- config
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_credentials" directive is duplicate in \S+\/nginx\.conf:\d+/



=== TEST 33: trtc_credentials in a server block
--- http_config
--- config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_credentials" directive is not allowed here/



=== TEST 34: no TURN server given
--- config
    location = /t { trtc_proxy_config ttl=1h; }
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_proxy_config" needs at least one TURN server: turn=turn:HOST:PORT\?transport=udp or turn=UPSTREAM in \S+\/nginx\.conf:\d+/



=== TEST 35: turn= names an upstream that does not exist
--- config
    location = /t { trtc_turn_credentials turn=trtc_turn; }
--- must_die
--- error_log eval
qr/\[emerg\].*no upstream "trtc_turn" for "turn=trtc_turn" of "trtc_turn_credentials" in \S+\/nginx\.conf:\d+/



=== TEST 36: invalid TURN URLs
--- config
    location = /t { trtc_turn_credentials turn=http://14.3.3.3:3478; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "http:\/\/14\.3\.3\.3:3478" of "trtc_turn_credentials": the scheme must be "turn:" or "turns:"/



=== TEST 37: a bad port
--- config
    location = /t { trtc_turn_credentials turn=turn:14.3.3.3:99999; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turn:14\.3\.3\.3:99999" of "trtc_turn_credentials": invalid port/



=== TEST 38: a query other than transport=
--- config
    location = /t { trtc_turn_credentials turn=turn:14.3.3.3:3478?x=1; }
--- must_die
--- error_log eval
qr/\[emerg\].*the query may only be \?transport=udp or \?transport=tcp/



=== TEST 39: turns: takes no ?transport= (TEST 49-59 have the rest of turns:)
--- config
    location = /t {
        trtc_proxy_config turn=turns:turn.example.com:443?transport=tcp;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turns:turn\.example\.com:443\?transport=tcp" of "trtc_proxy_config": "turns:" is TLS over TCP and takes no "\?transport=" in \S+nginx\.conf:\d+/



=== TEST 40: invalid parameters
--- config
    location = /t { trtc_proxy_config turn=turn:1.2.3.4 policy=never; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid parameter "policy=never" in \S+\/nginx\.conf:\d+/



=== TEST 41: proxy-only parameters are refused by trtc_turn_credentials
--- config
    location = /t { trtc_turn_credentials turn=turn:1.2.3.4 websocket=x; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid parameter "websocket=x"/



=== TEST 42: ttl= must be a positive time
--- config
    location = /t { trtc_turn_credentials turn=turn:1.2.3.4 ttl=0; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid parameter "ttl=0"/



=== TEST 43: ttl=soon
--- config
    location = /u { trtc_turn_credentials turn=turn:1.2.3.4 ttl=soon; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid parameter "ttl=soon"/



=== TEST 44: two issuers in one location
--- config
    location = /t {
        trtc_turn_credentials turn=turn:1.2.3.4;
        trtc_proxy_config turn=turn:1.2.3.4;
    }
--- must_die
--- error_log eval
qr/\[emerg\].*"trtc_proxy_config" directive is duplicate/



=== TEST 45: an origin with a path never matches, so it is refused
--- config
    trtc_allow_origin https://app.example.com/;
--- must_die
--- error_log eval
qr/\[emerg\].*invalid origin "https:\/\/app\.example\.com\/": an origin is scheme:\/\/host\[:port\] without a path/



=== TEST 46: a regex origin that does not compile
--- config
    trtc_allow_origin "~^https://(app\.example\.com$";
--- must_die
--- error_log eval
qr/\[emerg\].*pcre2_compile\(\) failed: missing closing parenthesis/



=== TEST 47: trtc_allow_origin at http level, inherited by the location
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    trtc_allow_origin https://app.example.com;
--- config
    location = /t { trtc_turn_credentials turn=turn:127.0.0.1:3478; }
--- request
GET /t
--- more_headers
Origin: https://app.example.com
--- response_headers
Access-Control-Allow-Origin: https://app.example.com



=== TEST 48: JSON escaping of what the client sent: bad UTF-8, quotes
--- config
    location = /trtc/proxy { trtc_proxy_config turn=turn:14.3.3.3:3478; }
--- request
GET /trtc/proxy
--- more_headers eval
"Host: caf\xe9\"\\x.example"
--- response_body_filters eval
main::check(urls => ['14.3.3.3:3478'],
            ws => "ws://caf\x{fffd}\"\\x.example/ws/",
            logger => "http://caf\x{fffd}\"\\x.example/logger/")
--- response_body
ok



=== TEST 49: per server, the URLs in the order UDP, TCP, TLS, whatever order they are written in; any port
--- config
    location = /rest {
        trtc_turn_credentials turn=turns:turn.example.com:443
                              turn=turn:turn.example.com:443?transport=tcp
                              turn=turn:turn.example.com:3478?transport=udp;
    }
    location = /proxy {
        trtc_proxy_config turn=turns:turn.example.com:443
                          turn=turn:turn.example.com:443?transport=tcp
                          turn=turn:turn.example.com:3478?transport=udp;
    }
--- request eval
["GET /rest", "GET /proxy"]
--- response_body_filters eval
[[main::check(rest => 1,
              uris => ['turn:turn.example.com:3478?transport=udp',
                       'turn:turn.example.com:443?transport=tcp',
                       'turns:turn.example.com:443'])],
 [main::check(urls => ['turn.example.com:3478'],
              ice => [['turn:turn.example.com:3478?transport=udp',
                       'turn:turn.example.com:443?transport=tcp',
                       'turns:turn.example.com:443']])]]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 50: two servers: one entry each, in the order first named, each with its own URLs in order
--- config
    location = /proxy {
        trtc_proxy_config turn=turns:a.example:5349 turn=turns:b.example:443
                          turn=turn:b.example:3478 turn=turn:a.example:3478
                          turn=turn:a.example:443?transport=tcp;
    }
--- request
GET /proxy
--- response_body_filters eval
main::check(urls => ['a.example:3478', 'b.example:3478'], array => 1,
            ice => [['turn:a.example:3478', 'turn:a.example:443?transport=tcp',
                     'turns:a.example:5349'],
                    ['turn:b.example:3478', 'turns:b.example:443']])
--- response_body
ok



=== TEST 51: a server with only turns:: its url is its TLS address; default ports 3478 and 5349; IPv6
--- config
    location = /proxy {
        trtc_proxy_config turn=turns:[2001:db8::1]:443 turn=turns:c.example
                          turn=turn:d.example;
    }
--- request
GET /proxy
--- response_body_filters eval
main::check(urls => ['[2001:db8::1]:443', 'c.example:5349', 'd.example:3478'],
            array => 1,
            ice => [['turns:[2001:db8::1]:443'], ['turns:c.example'],
                    ['turn:d.example']])
--- response_body
ok



=== TEST 52: upstreams per transport (turn:NAME?transport=, turns:NAME): peers of one address are one server; turns: names what trtc_check verifies
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream turn_udp {
        server 127.0.0.1:3478;
        server 127.0.0.2:3478;
    }
    upstream turn_tcp {
        server 127.0.0.1:443;
        server 127.0.0.2:443;
    }
    upstream turn_tls {
        server 127.0.0.2:443;
        server 127.0.0.1:443;
        # fails=2: no peer can be found down in the first 30 s
        trtc_check type=stun-tls host=turn.example verify=off
                   interval=30s timeout=1s fails=2;
    }
    upstream turn_tls_unchecked {
        server 127.0.0.3:5349;
    }
--- config
    location = /rest {
        trtc_turn_credentials turn=turns:turn_tls turn=turn:turn_tcp?transport=tcp
                              turn=turn:turn_udp?transport=udp
                              turn=turns:turn_tls_unchecked;
    }
    location = /proxy {
        trtc_proxy_config turn=turn:turn_udp?transport=udp
                          turn=turn:turn_tcp?transport=tcp
                          turn=turns:turn_tls turn=turns:turn_tls_unchecked;
    }
--- request eval
["GET /rest", "GET /proxy"]
--- response_body_filters eval
[[main::check(rest => 1,
              uris => ['turn:127.0.0.2:3478?transport=udp',
                       'turn:127.0.0.2:443?transport=tcp',
                       'turns:turn.example:443',
                       'turn:127.0.0.1:3478?transport=udp',
                       'turn:127.0.0.1:443?transport=tcp',
                       'turns:turn.example:443',
                       'turns:127.0.0.3:5349'])],
 [main::check(urls => ['127.0.0.1:3478', '127.0.0.2:3478', '127.0.0.3:5349'],
              array => 1,
              ice => [['turn:127.0.0.1:3478?transport=udp',
                       'turn:127.0.0.1:443?transport=tcp',
                       'turns:turn.example:443'],
                      ['turn:127.0.0.2:3478?transport=udp',
                       'turn:127.0.0.2:443?transport=tcp',
                       'turns:turn.example:443'],
                      ['turns:127.0.0.3:5349']])]]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 53: a bare upstream name still gives UDP and TCP on the peer's port, as one server each
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream trtc_turn {
        server 127.0.0.1:3478;
    }
--- config
    location = /proxy { trtc_proxy_config turn=trtc_turn; }
--- request
GET /proxy
--- response_body_filters eval
main::check(urls => ['127.0.0.1:3478'],
            ice => [['turn:127.0.0.1:3478?transport=udp',
                     'turn:127.0.0.1:3478?transport=tcp']])
--- response_body
ok



=== TEST 54: turns: with a port out of range
--- config
    location = /t { trtc_proxy_config turn=turns:turn.example.com:65536; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turns:turn\.example\.com:65536" of "trtc_proxy_config": invalid port in \S+nginx\.conf:\d+/



=== TEST 55: port 0
--- config
    location = /t { trtc_turn_credentials turn=turn:turn.example.com:0; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turn:turn\.example\.com:0" of "trtc_turn_credentials": invalid port in \S+nginx\.conf:\d+/



=== TEST 56: a scheme other than turn: or turns:
--- config
    location = /t { trtc_proxy_config turn=stun:turn.example.com:3478; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "stun:turn\.example\.com:3478" of "trtc_proxy_config": the scheme must be "turn:" or "turns:" in \S+nginx\.conf:\d+/



=== TEST 57: no host
--- config
    location = /t { trtc_proxy_config turn=turns::443; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turns::443" of "trtc_proxy_config": no host in \S+nginx\.conf:\d+/



=== TEST 58: ?transport= on turns: naming an upstream is refused too
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream turn_tls { server 127.0.0.1:443; }
--- config
    location = /t { trtc_proxy_config turn=turns:turn_tls?transport=udp; }
--- must_die
--- error_log eval
qr/\[emerg\].*invalid TURN URL "turns:turn_tls\?transport=udp" of "trtc_proxy_config": "turns:" is TLS over TCP and takes no "\?transport=" in \S+nginx\.conf:\d+/



=== TEST 59: two TURN servers on one host (two ports) stay two servers: a server has one URL of each transport
--- http_config
    trtc_credentials $TEST_NGINX_SERVER_ROOT/html/cred;
    upstream turn_udp {
        server 127.0.0.1:3478;
        server 127.0.0.1:3479;
    }
    upstream turn_tls {
        server 127.0.0.1:5349;
        server 127.0.0.1:5350;
    }
--- config
    location = /proxy {
        trtc_proxy_config turn=turns:turn_tls turn=turn:turn_udp?transport=udp;
    }
--- request
GET /proxy
--- response_body_filters eval
main::check(urls => ['127.0.0.1:3478', '127.0.0.1:3479'], array => 1,
            ice => [['turn:127.0.0.1:3478?transport=udp',
                     'turns:127.0.0.1:5349'],
                    ['turn:127.0.0.1:3479?transport=udp',
                     'turns:127.0.0.1:5350']])
--- response_body
ok
