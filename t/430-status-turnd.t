# vi:filetype=perl
#
# trtc_check metrics=: nginx scrapes a real turnd's Prometheus metrics
# beside its stun checks, and trtc_status shows them.  One turnd
# (build/turnd, prometheus on) for the whole file; before each request a
# real relay through it (TrtcTest::Turn::relay_echo: an allocation kept
# open, 20 payloads of 100 bytes each way), then the JSON has turnd's own
# figures (compared with a scrape of turnd made here) and the HTML page
# its chart with non-zero bars and an allocations line.
#
# Metrics sources that fail, from upstreams whose peer is that same turnd
# (so their stun checks pass): a body that is not turnd's (garbage), one
# well formed but without the relayed series (partial), one
# over the 32k buffer (huge), a 404 (missing), and a port nobody listens
# on (refused).  Each is
# counted and shown, and the peer stays up.

use Test::Nginx::Socket;
use HTTP::Tiny;
use JSON::PP ();
use Time::HiRes qw(sleep time);
use TrtcTest::Turn;
use TrtcTest::Util qw(free_port);

our $Turnd = TrtcTest::Turn->start(
    conf => "realm=trtc.test\nlt-cred-mech\nuser=turn:turn-pw\n"
            . "allow-loopback-peers\nprometheus\n"
            . "prometheus-port=" . ($ENV{TEST_NGINX_TURND_METRICS} =
                                    free_port()));
$ENV{TEST_NGINX_TURND_PORT} = $Turnd->port;

our $Http = <<'_EOC_';
    upstream trtc_turn {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=$TEST_NGINX_TURND_METRICS;
    }
    upstream garbage {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=127.0.0.1:$TEST_NGINX_RAND_PORT_1/garbage;
    }
    upstream huge {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=127.0.0.1:$TEST_NGINX_RAND_PORT_1/huge.txt;
    }
    upstream partial {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=127.0.0.1:$TEST_NGINX_RAND_PORT_1/partial;
    }
    upstream missing {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=127.0.0.1:$TEST_NGINX_RAND_PORT_1/nothing/here;
    }
    upstream refused {
        server 127.0.0.1:$TEST_NGINX_TURND_PORT;
        trtc_check type=stun interval=300ms timeout=250ms
                   metrics=127.0.0.1:$TEST_NGINX_RAND_PORT_9;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        root html;
        location = /partial {
            # well formed, but no relayed_* series
            return 200 "# HELP turnd_allocations x\nturnd_allocations 3\n";
        }
        location = /garbage {
            return 200 "<html>not metrics\nturnd_allocations{x=\"1\"} lots\n";
        }
    }
_EOC_

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value(http_config => $Http);
    $block->set_value(config =>
        "    location = /status { trtc_status; }\n");
    # a body of 40000 bytes: over the scrape buffer
    $block->set_value(user_files => ">>> huge.txt\n"
                      . ("# padding padding padding padding\n" x 1200));
});

our ($Client, $Back);

sub status_json {
    my $r = HTTP::Tiny->new(timeout => 5)->get(
        "http://127.0.0.1:$ENV{TEST_NGINX_SERVER_PORT}/status");
    return $r->{success} ? eval { JSON::PP::decode_json($r->{content}) }
                         : undef;
}

sub turnd_metric {
    my ($text, $name) = @_;
    my $sum = 0;
    $sum += $1 while $text =~ /^\Q$name\E(?:\{[^}]*\})? (\d+)$/mg;
    return $sum;
}

# After a first scrape of turnd (the counters nginx starts from), the
# relay, then until the JSON of every upstream has a scrape that came
# after it (or 10 s).
sub main::relay_and_wait {
    my $end = time + 10;
    while (time < $end) {
        my $j = status_json();
        last if $j && $j->{upstreams}{trtc_turn}{peers}[0]{turnd}{last_ok};
        sleep 0.1;
    }
    ($Client, $Back) = TrtcTest::Turn::relay_echo(
        port => $ENV{TEST_NGINX_TURND_PORT}, user => 'turn',
        pass => 'turn-pw', n => 20, size => 100);
    die "relay: $Back of 20 came back\n" unless $Back == 20;
    my $after = int(time) + 1;
    $end = time + 10;
    while (time < $end) {
        my $j = status_json();
        my $n = 0;
        for my $u (values %{ $j ? $j->{upstreams} : {} }) {
            my $m = $u->{peers}[0]{turnd} or next;
            $n++ if $m->{last_scrape} >= $after;
        }
        return if $n == 6;
        sleep 0.2;
    }
}

# Per upstream: the peer's state and what it says of turnd; the real
# turnd's figures are checked against a scrape made here.
sub main::turnd_json {
    my $j = JSON::PP::decode_json(shift);
    my $r = HTTP::Tiny->new(timeout => 5)->get(
        "http://127.0.0.1:$ENV{TEST_NGINX_TURND_METRICS}/metrics");
    my $own = $r->{content} // '';
    my $out = '';
    for my $name (sort keys %{ $j->{upstreams} }) {
        my $p = $j->{upstreams}{$name}{peers}[0];
        my $m = $p->{turnd} or do { $out .= "$name: no turnd\n"; next };
        $out .= "$name: $p->{state}, scrapes "
                . ($m->{scrapes} > 0 ? '>0' : 0) . ', ';
        if (!$m->{last_ok}) {
            $out .= "failed ($m->{last_error}), failures "
                    . ($m->{failures} == $m->{scrapes} ? 'all' : 'some')
                    . "\n";
            next;
        }
        my @err;
        for (['allocations', 'turnd_allocations'],
             ['relayed_bytes_to_peer',
              'turnd_relayed_bytes_total{direction="to_peer"}'],
             ['relayed_bytes_from_peer',
              'turnd_relayed_bytes_total{direction="from_peer"}'],
             ['relayed_packets_to_peer',
              'turnd_relayed_packets_total{direction="to_peer"}'],
             ['relayed_packets_from_peer',
              'turnd_relayed_packets_total{direction="from_peer"}'])
        {
            my ($f, $series) = @$_;
            my $want = turnd_metric($own, $series);
            push @err, "$f=$m->{$f} (turnd: $want)"
                unless $m->{$f} == $want && $want > 0;
        }
        $out .= "ok, failures $m->{failures}"
                . (@err ? ", WRONG: @err" : ", figures as turnd's") . "\n";
    }
    return $out;
}

# Per row: the peer's state, the text of its turnd block (figures shown
# as N when above zero) and what its SVG has.
sub main::turnd_html {
    my $text = shift;
    my $out = '';
    return "external reference\n" if $text =~ /\b(?:src|href)=|url\(/;
    my @up = $text =~ m{<h2>upstream (\w+) }g;
    my @rows = $text =~ m{<tr><td>[^<]*</td>(<td class=.*?)</tr>}g;
    for my $i (0 .. $#rows) {
        my $row = $rows[$i];
        my ($state) = $row =~ /^<td class="(\w+)">/;
        my ($div) = $row =~ m{<div class="turnd">(.*?)</div>};
        $out .= "$up[$i]: $state, ";
        if (!defined $div) {
            $out .= "no turnd\n";
            next;
        }
        my ($words, $svg) = $div =~ m{^(.*?)<br><svg [^>]*>(.*)</svg>$}
            or do { $out .= "BAD: $div\n"; next };
        $words =~ s/127\.0\.0\.1:\d+/ADDR/;
        $words =~ s/<[^>]+>//g;
        $words =~ s/\b[1-9]\d*\b/N/g;
        my @has;
        push @has, 'to' if $svg =~ /<rect class="to" [^>]*height="[1-9]/;
        push @has, 'from' if $svg =~ /<rect class="from" [^>]*height="[1-9]/;
        push @has, 'allocations' if $svg =~ /<path class="alloc" [^>]*d="M/;
        push @has, 'raised' if $svg =~ /<path class="alloc" [^>]*d="[^"]*[ML]\d+ 2(?!\d)/;
        $out .= "$words [@has]\n";
    }
    return $out;
}

plan 'no_plan';
no_shuffle();
run_tests();

__DATA__

=== TEST 1: JSON: turnd's figures after a relay; failed scrapes counted, peers up
--- init
main::relay_and_wait();
--- request
GET /status
--- response_body_filters eval
\&main::turnd_json
--- response_body
garbage: up, scrapes >0, failed (malformed metrics), failures all
huge: up, scrapes >0, failed (answer too large), failures all
missing: up, scrapes >0, failed (metrics answer not 200), failures all
partial: up, scrapes >0, failed (malformed metrics), failures all
refused: up, scrapes >0, failed (connect() failed), failures all
trtc_turn: up, scrapes >0, ok, failures 0, figures as turnd's



=== TEST 2: HTML: turnd's chart beside the peer's, with bars and a line
--- init
main::relay_and_wait();
--- request
GET /status?format=html
--- response_body_filters eval
\&main::turnd_html
--- response_body
trtc_turn: up, turnd ADDR: N allocations, N bytes to peers, N bytes from peers [to from allocations raised]
garbage: up, turnd ADDR: metrics failed: malformed metrics (N of N scrapes) []
huge: up, turnd ADDR: metrics failed: answer too large (N of N scrapes) []
partial: up, turnd ADDR: metrics failed: malformed metrics (N of N scrapes) []
missing: up, turnd ADDR: metrics failed: metrics answer not N (N of N scrapes) []
refused: up, turnd ADDR: metrics failed: connect() failed (N of N scrapes) []
