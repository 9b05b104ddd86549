# vi:filetype=perl
#
# trtc_status: the JSON has every documented field with its type; the
# Prometheus text passes a strict parser written here (HELP and TYPE before
# the samples of their family, families not interleaved, metric and label
# syntax, escaped label values, float values, no duplicate series, the
# documented families and nothing else); the HTML page is well formed and
# colours each state; format= overrides the directive; a bad format is 400,
# other methods 405, HEAD has no body; names are escaped in all three.
#
# The page rendered by a real browser (headless Chromium) is checked in
# t/410-check-failover.t, where the peers go up and down.
#
# Backends: A on RAND_PORT_1 (http), RAND_PORT_9 never listened on.

use Test::Nginx::Socket;
use B ();
use JSON::PP ();

our $Slow = $ENV{TEST_NGINX_USE_VALGRIND} ? 4 : 1;

our $Backends = <<'_EOC_';
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        listen 127.0.0.3:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "A\n"; }
    }
_EOC_

# One upstream of every kind of peer: up, down, disabled, backup; and one
# that has not been probed yet ("checking").
our $Upstreams = <<'_EOC_';
    upstream web {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        server 127.0.0.2:$TEST_NGINX_RAND_PORT_1 down;
        server 127.0.0.3:$TEST_NGINX_RAND_PORT_1 backup;
        trtc_check type=http interval=150ms timeout=100ms fails=2 passes=3;
    }
    upstream later {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check type=tcp interval=1h timeout=2s;
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    my $http = $Backends;
    $http .= $Upstreams unless defined $block->own_upstreams;
    $block->set_value(http_config => $http . ($block->http_config // ''));
});


# --- JSON ------------------------------------------------------------------

sub is_int {
    my $v = shift;
    return 0 if !defined $v || ref $v;
    my $flags = B::svref_2object(\$v)->FLAGS;
    # a JSON number decodes to an IV (or NV), a JSON string to a PV only
    return ($flags & (B::SVp_IOK | B::SVp_NOK)) && !($flags & B::SVp_POK)
           && $v =~ /^\d+$/;
}

sub is_string { my $v = shift; defined $v && !ref $v && !is_int($v) }

sub is_bool { JSON::PP::is_bool($_[0]) }

our %PeerFields = (
    name => \&is_string, backup => \&is_bool, state => \&is_string,
    since => \&is_int, last_check => \&is_int, last_ok => \&is_bool,
    last_status => \&is_int, last_error => \&is_string, latency_ms => \&is_int,
    consecutive_passes => \&is_int, consecutive_fails => \&is_int,
    checks => \&is_int, failures => \&is_int,
);

our %Counters = (
    signaling => [qw(sessions_open sessions_total bytes_to_upstream
                     bytes_to_clients)],
    logger => [qw(uploads_proxied uploads_spooled uploads_replayed
                  uploads_refused uploads_rejected uploads_expired
                  uploads_damaged spool_bytes spool_files)],
    credentials => [qw(issued)],
    tests => [qw(signaling_sessions uploads_proxied uploads_spooled)],
);

sub same_keys {
    my ($what, $h, @keys) = @_;
    my @got = sort keys %$h;
    my @want = sort @keys;
    return "$what has keys (@got), documented (@want)\n"
        unless "@got" eq "@want";
    return '';
}

# Every documented field with its type; then one line per peer.
sub main::json_schema {
    my $text = shift;
    my $d = eval { JSON::PP->new->decode($text) };
    return "not JSON: $@" unless ref $d eq 'HASH';
    my $err = same_keys('the top level', $d, qw(version nginx_version time
        upstreams signaling logger credentials tests));
    $err .= "version\n" unless is_string($d->{version})
                               && $d->{version} =~ /^\d+\.\d+\.\d+$/;
    $err .= "nginx_version\n" unless is_string($d->{nginx_version})
                                     && $d->{nginx_version} eq '1.22.1';
    $err .= "time\n" unless is_int($d->{time}) && abs($d->{time} - time) < 5;

    for my $c (sort keys %Counters) {
        $err .= same_keys($c, $d->{$c}, @{ $Counters{$c} });
        for (@{ $Counters{$c} }) {
            $err .= "$c.$_ is not a count\n" unless is_int($d->{$c}{$_});
        }
    }

    my $out = '';
    for my $u (sort keys %{ $d->{upstreams} }) {
        my $up = $d->{upstreams}{$u};
        $err .= same_keys("upstream $u", $up, qw(check peers));
        $err .= same_keys("$u.check", $up->{check},
                          qw(type interval_ms timeout_ms fails passes));
        $err .= "$u.check.type\n" unless is_string($up->{check}{type});
        for (qw(interval_ms timeout_ms fails passes)) {
            $err .= "$u.check.$_\n" unless is_int($up->{check}{$_});
        }
        $out .= "$u: " . join(' ', map { "$_=$up->{check}{$_}" }
                              sort keys %{ $up->{check} }) . "\n";
        for my $p (@{ $up->{peers} }) {
            $err .= same_keys("a peer of $u", $p, keys %PeerFields);
            for my $f (sort keys %PeerFields) {
                $err .= "$u $p->{name} $f is not of its type\n"
                    unless $PeerFields{$f}->($p->{$f});
            }
            $err .= "$u $p->{name}: state $p->{state}\n"
                unless $p->{state} =~ /^(?:up|down|checking|disabled)$/;
            # a peer never probed has no last check; a probed one has
            $err .= "$u $p->{name}: last_check vs checks\n"
                unless ($p->{checks} == 0) == ($p->{last_check} == 0);
            $err .= "$u $p->{name}: failures > checks\n"
                if $p->{failures} > $p->{checks};
            $err .= "$u $p->{name}: since in the future\n"
                if $p->{since} > time + 1;
            $out .= sprintf "  %s %s %s\n", $p->{state},
                            $p->{backup} ? 'backup' : 'primary',
                            $p->{last_ok} ? 'ok' : 'failed';
        }
    }
    return $err ? "ERRORS:\n$err" : $out;
}


# --- Prometheus --------------------------------------------------------------

our @Families = qw(
    trtc_upstream_peer_up trtc_upstream_peer_check_latency_seconds
    trtc_upstream_peer_checks_total trtc_upstream_peer_check_failures_total
    trtc_upstream_peer_state_since_timestamp_seconds
    trtc_signaling_sessions_open trtc_build_info
    trtc_signaling_sessions_total trtc_signaling_bytes_total
    trtc_logger_uploads_total trtc_logger_spool_bytes trtc_logger_spool_files
    trtc_credentials_issued_total
    trtc_diagnostics_test_sessions_total trtc_diagnostics_test_uploads_total
);

my $NAME = qr/[a-zA-Z_:][a-zA-Z0-9_:]*/;
my $LABEL = qr/[a-zA-Z_][a-zA-Z0-9_]*/;
my $FLOAT = qr/[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN/;

# The text exposition format, version 0.0.4, strictly.  Returns the errors
# and, when there are none, "ok" and then the samples one per line as
# "name{label=value,...} value", labels sorted, values unescaped (a newline
# in a value shown as \n).
sub main::prom {
    my $text = shift;
    my (@err, %help, %type, %seen_family, %series, @samples);
    my $current = '';

    push @err, "does not end with a newline" unless $text =~ s/\n\z//;
    my $n = 0;
    for my $line (split /\n/, $text, -1) {
        $n++;
        if ($line =~ /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/) {
            my ($kw, $name, $rest) = ($1, $2, $3 // '');
            push @err, "line $n: bad metric name in $kw: $name"
                unless $name =~ /^$NAME$/;
            if ($kw eq 'HELP') {
                push @err, "line $n: second HELP for $name" if $help{$name}++;
                push @err, "line $n: bad escape in HELP"
                    if $rest =~ /\\(?![\\n])/;
            } else {
                push @err, "line $n: second TYPE for $name" if $type{$name};
                push @err, "line $n: bad type $rest"
                    unless $rest =~ /^(?:counter|gauge|histogram|summary|untyped)$/;
                push @err, "line $n: TYPE after samples of $name"
                    if $seen_family{$name};
                $type{$name} = $rest;
            }
            next;
        }
        if ($line =~ /^#/) {
            next;                  # a comment
        }
        if ($line eq '') {
            push @err, "line $n: empty line";
            next;
        }
        unless ($line =~ /^($NAME)(\{(.*)\})?[ ]($FLOAT)(?:[ ](-?\d+))?$/) {
            push @err, "line $n: not a sample: $line";
            next;
        }
        my ($name, $lbl, $value) = ($1, $3, $4);
        my $family = $name;
        $family = $1 if !$type{$name} && $name =~ /^(.*)_(?:sum|count|bucket)$/
                        && ($type{$1} // '') =~ /^(?:histogram|summary)$/;
        push @err, "line $n: $name has no TYPE before it" unless $type{$family};
        push @err, "line $n: $name has no HELP before it" unless $help{$family};
        if ($family ne $current) {
            push @err, "line $n: samples of $family are not together"
                if $seen_family{$family};
            $current = $family;
        }
        $seen_family{$family} = 1;
        push @err, "line $n: counter $family not named _total"
            if ($type{$family} // '') eq 'counter' && $family !~ /_total$/;

        my %l;
        if (defined $lbl) {
            my $rest = $lbl;
            while ($rest ne '') {
                unless ($rest =~ s/^($LABEL)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)//) {
                    push @err, "line $n: bad labels: {$lbl}";
                    last;
                }
                my ($k, $v, $comma) = ($1, $2, $3);
                push @err, "line $n: reserved label $k" if $k =~ /^__/;
                push @err, "line $n: label $k twice" if exists $l{$k};
                $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
                $l{$k} = $v;
                push @err, "line $n: trailing comma" if $comma eq ',' && $rest eq '';
            }
        }
        my $id = $name . '{' . join(',', map {
            (my $v = $l{$_}) =~ s/\n/\\n/g; "$_=$v" } sort keys %l) . '}';
        push @err, "line $n: duplicate series $id" if $series{$id}++;
        push @samples, "$id $value";
    }

    # a counter foo_total is the family foo (OpenMetrics): no gauge foo
    for my $f (keys %type) {
        push @err, "gauge $f collides with counter ${f}_total"
            if ($type{"${f}_total"} // '') eq 'counter';
    }

    my @fam = sort keys %type;
    my @want = sort @Families;
    push @err, "families (@fam), documented (@want)" unless "@fam" eq "@want";
    return @err ? join("\n", 'ERRORS:', @err) . "\n"
                : join("\n", 'ok', @samples) . "\n";
}

# `promtool check metrics` (Debian's prometheus) on the body: "promtool ok"
# or its complaints
sub main::promtool {
    my $text = shift;
    my $f = ($ENV{TMPDIR} || '/tmp') . "/trtc-420-$$.prom";
    open my $fh, '>', $f or return "cannot write $f: $!\n";
    print $fh $text;
    close $fh;
    my $out = qx(promtool check metrics < $f 2>&1);
    my $rc = $? >> 8;
    unlink $f;
    return $rc == 0 ? "promtool ok\n" : "promtool rc=$rc\n$out";
}

# prom() of the body, then only the samples matching the regex
sub main::prom_only {
    my $re = shift;
    return sub {
        my $r = main::prom(shift);
        return $r if $r =~ /^ERRORS/;
        return join '', grep { /$re/ } split /^/, $r;
    };
}


# --- HTML ------------------------------------------------------------------

# Tags balanced (void elements aside), one table per upstream plus the
# counters', then "STATE NAME" for every coloured cell of a peer.
sub main::html {
    my $text = shift;
    my (@stack, @err);
    my %void = map { $_ => 1 } qw(meta br hr img link input);
    while ($text =~ /<(\/?)([a-zA-Z][a-zA-Z0-9]*)\b[^>]*?(\/?)>|<!DOCTYPE html>/g) {
        next unless defined $2;
        my ($close, $tag) = ($1, lc $2);
        next if $void{$tag} || $3;          # <br>, and SVG's <rect .../>
        if ($close) {
            my $top = pop @stack // '';
            push @err, "</$tag> closes <$top>" unless $top eq $tag;
        } else {
            push @stack, $tag;
        }
    }
    push @err, "unclosed: @stack" if @stack;
    push @err, "no doctype" unless $text =~ /\A<!DOCTYPE html>/;
    push @err, "no refresh" unless
        $text =~ /<meta http-equiv="refresh" content="5">/;
    my $out = '';
    while ($text =~ m{<tr><td>([^<]*)</td><td class="(\w+)">(\w+)</td>}g) {
        push @err, "class $2, text $3" unless $2 eq $3;
        $out .= "$3 $1\n";
    }
    $out =~ s/127\.0\.0\.\d+:\d+/ADDR/g;
    return @err ? join("\n", 'ERRORS:', @err) . "\n" : $out;
}

# The chart of every peer row: "STATE NAME: svg line red" (what it has)
sub main::charts {
    my $text = shift;
    my $out = '';
    return "external reference\n" if $text =~ /\b(?:src|href)=|url\(/;
    while ($text =~ m{<tr><td>([^<]*)</td><td class="(\w+)">\w+</td>(.*?)</tr>}g) {
        my ($name, $state, $rest) = ($1, $2, $3);
        my @has;
        if ($rest =~ m{<svg [^>]*>(.*?)</svg>}) {
            my $svg = $1;
            push @has, 'svg';
            push @has, 'line' if $svg =~ /<path [^>]*d="M\d+ \d+h1/;
            push @has, 'red' if $svg =~ /<rect class="fail" [^>]*fill="#e55"/;
        }
        $name =~ s/127\.0\.0\.\d+:\d+/ADDR/g;
        $out .= "$state $name: @has\n";
    }
    return $out;
}

no_shuffle();
no_long_string();
plan 'no_plan';
run_tests();

__DATA__

=== TEST 1: JSON: every documented field, of its type, for every kind of peer
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_headers
Content-Type: application/json
Cache-Control: no-store
--- response_body_filters eval
\&main::json_schema
--- response_body
later: fails=2 interval_ms=3600000 passes=1 timeout_ms=2000 type=tcp
  checking primary failed
web: fails=2 interval_ms=150 passes=3 timeout_ms=100 type=http
  up primary ok
  down primary failed
  disabled primary failed
  up backup ok



=== TEST 2: Prometheus: strict exposition format, the documented families, a series per peer
--- config
    location = /st { trtc_status prometheus; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_headers
Content-Type: text/plain; version=0.0.4; charset=utf-8
Cache-Control: no-store
--- response_body_filters eval
main::prom_only(qr/^(?:ok$|trtc_upstream_peer_up|trtc_(?!upstream))/)
--- response_body_like eval
qr/\Aok
trtc_build_info\{nginx_version=1\.\d+\.\d+,version=\d+\.\d+\.\d+\} 1
trtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.1:\d+,upstream=web\} 1
trtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.1:\d+,upstream=web\} 0
trtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.2:\d+,upstream=web\} 0
trtc_upstream_peer_up\{backup=true,peer=127\.0\.0\.3:\d+,upstream=web\} 1
trtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.1:\d+,upstream=later\} 1
trtc_signaling_sessions_open\{\} 0
trtc_signaling_sessions_total\{\} 0
trtc_signaling_bytes_total\{direction=upstream\} 0
trtc_signaling_bytes_total\{direction=client\} 0
trtc_logger_uploads_total\{result=proxied\} 0
trtc_logger_uploads_total\{result=spooled\} 0
trtc_logger_uploads_total\{result=replayed\} 0
trtc_logger_uploads_total\{result=refused\} 0
trtc_logger_uploads_total\{result=rejected\} 0
trtc_logger_uploads_total\{result=expired\} 0
trtc_logger_uploads_total\{result=damaged\} 0
trtc_logger_spool_bytes\{\} 0
trtc_logger_spool_files\{\} 0
trtc_credentials_issued_total\{\} 0
trtc_diagnostics_test_sessions_total\{\} 0
trtc_diagnostics_test_uploads_total\{result=proxied\} 0
trtc_diagnostics_test_uploads_total\{result=spooled\} 0
\z/



=== TEST 3: Prometheus: checks and failures are counters that grow, latency in seconds, since in Unix time
--- config
    location = /st { trtc_status prometheus; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", "GET /st"]
--- response_body_filters eval
[[sub {
    my $r = main::prom(shift);
    return $r if $r =~ /^ERRORS/;
    my %v = map { /^(\S+) (\S+)$/ ? ($1 => $2) : () } split /\n/, $r;
    # the live primary: the one of web's 127.0.0.1 peers that is up
    my ($live) = grep { /^trtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.1:\d+,upstream=web\}/
                        && $v{$_} == 1 } sort keys %v;
    return "no live peer\n" unless $live;
    (my $up = $live) =~ s/peer_up/peer_checks_total/;
    (my $fail = $up) =~ s/checks_total/check_failures_total/;
    (my $lat = $up) =~ s/checks_total/check_latency_seconds/;
    (my $since = $up) =~ s/checks_total/state_since_timestamp_seconds/;
    my @e;
    push @e, "checks $v{$up}" unless $v{$up} >= 3;
    push @e, "failures $v{$fail}" unless $v{$fail} == 0;
    push @e, "latency $v{$lat}" unless $v{$lat} =~ /^\d+\.\d{3}$/ && $v{$lat} < 0.1;
    push @e, "since $v{$since}" unless abs($v{$since} - time) < 10;
    return @e ? "@e\n" : "ok\n";
 }], [sub { main::prom(shift) =~ /^ok\n/ ? "ok\n" : "bad\n" }]]
--- response_body eval
["ok\n", "ok\n"]



=== TEST 4: HTML: well formed, a coloured cell per peer, refreshes itself; each checked peer's last hour as an inline SVG (latency line, failed minutes red), nothing external
--- config
    location = /st { trtc_status html; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request eval
["GET /st", "GET /st"]
--- response_headers eval
["Content-Type: text/html; charset=utf-8\nCache-Control: no-store",
 "Content-Type: text/html; charset=utf-8\nCache-Control: no-store"]
--- response_body_filters eval
[[\&main::html], [\&main::charts]]
--- response_body eval
["up ADDR
down ADDR
disabled ADDR
up ADDR (backup)
checking ADDR
", "up ADDR: svg line
down ADDR: svg red
disabled ADDR: svg red
up ADDR (backup): svg line
checking ADDR: svg
"]



=== TEST 5: ?format= overrides the directive, each way
--- config
    location = /json { trtc_status; }
    location = /prom { trtc_status prometheus; }
    location = /html { trtc_status html; }
--- request eval
["GET /json?format=prometheus", "GET /json?format=html",
 "GET /prom?format=json", "GET /prom?format=html",
 "GET /html?format=json", "GET /html?format=prometheus",
 "GET /html?a=1&format=json&b=2"]
--- response_headers_like eval
["Content-Type: text/plain; version=0\\.0\\.4; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: application/json",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: application/json",
 "Content-Type: text/plain; version=0\\.0\\.4; charset=utf-8",
 "Content-Type: application/json"]
--- response_body_like eval
[qr/^# HELP /, qr/^<!DOCTYPE html>/, qr/^\{"version":/, qr/^<!DOCTYPE html>/,
 qr/^\{"version":/, qr/^# HELP /, qr/^\{"version":/]



=== TEST 6: a bad format is 400, whatever the directive says
--- config
    location = /st { trtc_status html; }
--- request eval
["GET /st?format=xml", "GET /st?format=", "GET /st?format=JSON",
 "GET /st?format=json2", "GET /st?format=promethe"]
--- error_code eval
[400, 400, 400, 400, 400]



=== TEST 7: methods: POST, PUT, DELETE are 405; HEAD is 200 without a body
--- config
    location = /st { trtc_status; }
--- request eval
["POST /st\nx=1", "PUT /st\nx", "DELETE /st", "HEAD /st"]
--- error_code eval
[405, 405, 405, 200]
--- response_body eval
[qr/405 Not Allowed/, qr/405 Not Allowed/, qr/405 Not Allowed/, ""]



=== TEST 8: HEAD says the length the GET gets
--- config
    location = /st { trtc_status prometheus; }
--- request eval
["HEAD /st", "GET /st"]
--- response_headers_like eval
["Content-Length: \\d+", "Content-Length: \\d+"]
--- response_body_filters eval
[[], [sub { length(shift) . "\n" }]]
--- response_body eval
["", qr/^\d+\n$/]



=== TEST 9: the directive at server level
--- http_config
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_7;
        trtc_status prometheus;
    }
--- config
    location = /st {
        proxy_pass http://127.0.0.1:$TEST_NGINX_RAND_PORT_7/anything?format=json;
    }
--- init
Time::HiRes::sleep(0.5 * $::Slow);
--- request
GET /st
--- response_body_filters eval
sub { my $d = JSON::PP->new->decode(shift); CORE::join(',', sort keys %{ $d->{upstreams} }) . "\n" }
--- response_body
later,web



=== TEST 10: no trtc_check anywhere: empty upstreams, still valid in every format
--- own_upstreams
--- config
    location = /st { trtc_status; }
--- request eval
["GET /st", "GET /st?format=prometheus", "GET /st?format=html"]
--- response_body_filters eval
[[sub { my $d = JSON::PP->new->decode(shift);
        JSON::PP->new->canonical->encode($d->{upstreams}) . "\n" }],
 [sub { (main::prom(shift) =~ /^(ok|ERRORS.*)/s)[0] . "\n" }],
 [\&main::html]]
--- response_body eval
["{}\n", "ok\n", ""]



=== TEST 11: names are escaped: JSON, Prometheus label values, HTML
--- own_upstreams
--- http_config
    upstream "we\"ird\\name\nwith<b>&amp;" {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_9;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
--- config
    location = /st { trtc_status; }
--- init
Time::HiRes::sleep(0.5 * $::Slow);
--- request eval
["GET /st", "GET /st?format=prometheus", "GET /st?format=html"]
--- response_body_filters eval
[[sub { my $d = JSON::PP->new->decode(shift);
        CORE::join('', map { "[$_]\n" } keys %{ $d->{upstreams} }) }],
 [main::prom_only(qr/^(?:ERRORS|ok$|trtc_upstream_peer_up)/)],
 [sub { (shift =~ m{<h2>upstream (.*?) <small>}s)[0] . "\n" }]]
--- response_body eval
["[we\"ird\\name\nwith<b>&amp;]\n",
 qr/\Aok\ntrtc_upstream_peer_up\{backup=false,peer=127\.0\.0\.1:\d+,upstream=we"ird\\name\\nwith<b>&amp;\} 0\n\z/,
 "we&quot;ird\\name\nwith&lt;b&gt;&amp;amp;\n"]



=== TEST 12: the same server twice in an upstream: still no duplicate Prometheus series
--- own_upstreams
--- http_config
    upstream twice {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        trtc_check interval=100ms timeout=50ms fails=1;
    }
--- config
    location = /st { trtc_status prometheus; }
--- request
GET /st
--- response_body_filters eval
sub { (main::prom(shift) =~ /^(ok|ERRORS.*)/s)[0] . "\n" }
--- response_body
ok



=== TEST 13: many peers and long names: the page is complete in every format
--- own_upstreams
--- http_config eval
CORE::join '', map {
    my $u = $_;
    "    upstream \"u$u" . ('\\"<&' x 60) . "\" {\n"
    . CORE::join('', map { "        server 127.0.$u.$_:1;\n" } 1 .. 60)
    . "        trtc_check interval=1h;\n    }\n"
} 1 .. 5
--- config
    location = /st { trtc_status; }
--- request eval
["GET /st", "GET /st?format=prometheus", "GET /st?format=html"]
--- response_body_filters eval
[[sub { my $d = JSON::PP->new->decode(shift);
        my @u = keys %{ $d->{upstreams} };
        my $n = 0; $n += @{ $d->{upstreams}{$_}{peers} } for @u;
        scalar(@u) . " upstreams, $n peers\n" }],
 [sub { my $r = main::prom(shift);
        return $r if $r =~ /^ERRORS/;
        scalar(grep { /^trtc_upstream_peer_up/ } split /\n/, $r) . " up series\n" }],
 [sub { my $h = shift;
        my $r = main::html($h);
        return $r if $r =~ /^ERRORS/;
        # a probe may finish (refused) before the page is read under load
        scalar(() = $h =~ /<td class="(?:checking|down)">/g)
            . " peers\n" }]]
--- response_body eval
["5 upstreams, 300 peers\n", "300 up series\n", "300 peers\n"]



=== TEST 14: Prometheus: promtool check metrics passes (the peers of every test, and escaped names)
--- http_config
    upstream "odd\"name\\x" {
        server 127.0.0.1:1;
        trtc_check interval=1h;
    }
--- config
    location = /st { trtc_status prometheus; }
--- init
Time::HiRes::sleep(0.8 * $::Slow);
--- request
GET /st
--- response_body_filters eval
\&main::promtool
--- response_body
promtool ok

