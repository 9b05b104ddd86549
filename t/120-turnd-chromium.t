#!/usr/bin/perl

# Headless Chromium as the TURN client TRTC's Web SDK runs on: two
# RTCPeerConnections in one page, iceTransportPolicy 'relay', connect
# relay to relay through the server under test (TURN over UDP, then over
# TCP) and carry a data channel; the page POSTs its verdict to a tiny HTTP
# server here.  A wrong password must give icecandidateerror 401.
#
# Runs against build/turnd; TRTC_TEST_TURN_SERVER=coturn for coturn.
# Inside a network namespace of its own when `unshare -n` works (no packet
# can leave), else on loopback with Chromium's network kept quiet by flags
# (see /work/shared/reference/chromium-webrtc.md).

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time);

use TrtcTest::Turn;

my $CHROMIUM = $ENV{TRTC_TEST_CHROMIUM} || '/usr/lib/chromium/chromium';
plan skip_all => "chromium not installed ($CHROMIUM; apt-get install "
               . "chromium)" unless -x $CHROMIUM;

my $CASE_TIMEOUT = 30;
my $MESSAGES = 20;

# Once: re-run this test in a new network namespace with lo up.
if (!$ENV{TRTC_TEST_IN_NETNS} && !$ENV{TRTC_TEST_NO_NETNS}
    && system('unshare -n true >/dev/null 2>&1') == 0)
{
    $ENV{TRTC_TEST_IN_NETNS} = 1;
    $ENV{PERL5LIB} = join ':', grep { !ref } @INC;
    exec 'unshare', '-n', '--', $^X, $0, @ARGV;
    die "exec unshare: $!";
}
if ($ENV{TRTC_TEST_IN_NETNS}) {
    system('ip', 'link', 'set', 'lo', 'up') == 0
        or BAIL_OUT('cannot bring lo up in the network namespace');
    note('in a network namespace of its own');
}


my $PAGE = <<'HTML';
<!doctype html>
<meta charset="utf-8">
<title>turn test</title>
<script>
const cfg = __CONFIG__;
const verdict = {name: cfg.name, cands: {a: [], b: []}, candErrors: [],
                 sentAB: [], recvAB: [], sentBA: [], recvBA: [],
                 states: {}, pairs: {}, error: null};
let posted = false;

function post() {
    if (posted) return;
    posted = true;
    fetch('/verdict', {method: 'POST', body: JSON.stringify(verdict)});
}

function message(dir, i) {
    // varied lengths and characters, so "intact" means something
    let s = dir + ' #' + i + ' ';
    for (let k = 0; k < i * 37 % 500; k++)
        s += String.fromCharCode(33 + (i * 7 + k * 13) % 90);
    return s + (i % 3 ? '' : ' \u00e9\u4e2d\u{1F600}');
}

async function selectedPair(pc) {
    const stats = await pc.getStats();
    let pair = null;
    stats.forEach(s => {
        if (s.type === 'transport' && s.selectedCandidatePairId)
            pair = stats.get(s.selectedCandidatePairId);
    });
    if (!pair) stats.forEach(s => {
        if (s.type === 'candidate-pair' && s.nominated
            && s.state === 'succeeded') pair = s;
    });
    if (!pair) return null;
    const pick = c => c && {type: c.candidateType,
                            relayProtocol: c.relayProtocol,
                            protocol: c.protocol, address: c.address,
                            port: c.port, url: c.url};
    return {state: pair.state,
            local: pick(stats.get(pair.localCandidateId)),
            remote: pick(stats.get(pair.remoteCandidateId))};
}

function wait(ms) { return new Promise(r => setTimeout(r, ms)); }

async function connect() {
    const ice = {iceServers: [{urls: cfg.urls, username: cfg.user,
                               credential: cfg.pass}],
                 iceTransportPolicy: 'relay'};
    const a = new RTCPeerConnection(ice), b = new RTCPeerConnection(ice);
    for (const [pc, other, n] of [[a, b, 'a'], [b, a, 'b']]) {
        pc.onicecandidate = e => {
            if (!e.candidate) return;
            verdict.cands[n].push(e.candidate.candidate);
            other.addIceCandidate(e.candidate).catch(
                err => verdict.error = 'addIceCandidate: ' + err);
        };
        pc.onicecandidateerror = e => verdict.candErrors.push(
            {pc: n, code: e.errorCode, text: e.errorText, url: e.url});
        pc.onconnectionstatechange = () => {
            verdict.states[n] = pc.connectionState;
            if (pc.connectionState === 'failed') {
                verdict.error = 'connection ' + n + ' failed';
                post();
            }
        };
    }
    const ab = a.createDataChannel('t', {ordered: true});
    const opened = new Promise(resolve => {
        let n = 0;
        const one = () => { if (++n === 2) resolve(); };
        ab.onopen = one;
        b.ondatachannel = e => {
            const ba = e.channel;
            ba.onmessage = m => verdict.recvAB.push(m.data);
            window.ba = ba;
            if (ba.readyState === 'open') one(); else ba.onopen = one;
        };
    });
    ab.onmessage = m => verdict.recvBA.push(m.data);

    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await opened;

    for (let i = 0; i < cfg.messages; i++) {
        const x = message('a->b', i), y = message('b->a', i);
        verdict.sentAB.push(x); ab.send(x);
        verdict.sentBA.push(y); window.ba.send(y);
    }
    for (let t = 0; t < 100; t++) {
        if (verdict.recvAB.length >= cfg.messages
            && verdict.recvBA.length >= cfg.messages) break;
        await wait(50);
    }
    verdict.pairs.a = await selectedPair(a);
    verdict.pairs.b = await selectedPair(b);
    a.close(); b.close();
}

// Only gathering: with bad credentials each TURN URL must report 401.
async function gather() {
    const pc = new RTCPeerConnection({
        iceServers: [{urls: cfg.urls, username: cfg.user,
                      credential: cfg.pass}],
        iceTransportPolicy: 'relay'});
    pc.onicecandidate = e => {
        if (e.candidate) verdict.cands.a.push(e.candidate.candidate);
    };
    pc.onicecandidateerror = e => verdict.candErrors.push(
        {pc: 'a', code: e.errorCode, text: e.errorText, url: e.url});
    const done = new Promise(r => pc.onicegatheringstatechange = () => {
        if (pc.iceGatheringState === 'complete') r();
    });
    pc.createDataChannel('t');
    await pc.setLocalDescription(await pc.createOffer());
    await Promise.race([done, wait(cfg.gatherMs)]);
    verdict.states.gathering = pc.iceGatheringState;
    pc.close();
}

setTimeout(() => { verdict.error = verdict.error || 'page timeout';
                   post(); }, cfg.pageMs);
(cfg.mode === 'connect' ? connect() : gather())
    .catch(e => verdict.error = 'exception: ' + e)
    .finally(post);
</script>
HTML


# --- a tiny HTTP server: GET /case/NAME gives the page, POST /verdict ---

my $http = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Listen => 16, ReuseAddr => 1, Proto => 'tcp')
    || die "http listen: $!";
my $HTTP_PORT = $http->sockport;

# Serves until a verdict for the case comes or the deadline passes.
sub serve {
    my ($cfg, $deadline) = @_;
    my $sel = IO::Select->new($http);
    my %buf;
    while ((my $left = $deadline - time) > 0) {
        for my $s ($sel->can_read($left < 0.5 ? $left : 0.5)) {
            if ($s == $http) {
                my $c = $http->accept or next;
                $c->blocking(0);
                $sel->add($c);
                $buf{$c} = '';
                next;
            }
            my $n = sysread $s, $buf{$s}, 65536, length $buf{$s};
            if (!$n) {
                $sel->remove($s); delete $buf{$s}; $s->close;
                next;
            }
            my $b = $buf{$s};
            next unless $b =~ /\r\n\r\n/;
            my ($head, $body) = split /\r\n\r\n/, $b, 2;
            my ($len) = $head =~ /^content-length:\s*(\d+)/mi;
            next if ($len // 0) > length $body;
            my ($method, $path) = $head =~ /^(\S+)\s+(\S+)/;
            my ($status, $type, $out) = (404, 'text/plain', "not found\n");
            if ($method eq 'GET' && $path eq "/case/$cfg->{name}") {
                my $json = JSON::PP->new->canonical->encode($cfg);
                $json =~ s{</}{<\\/}g;
                ($status, $type, $out) = (200, 'text/html; charset=utf-8',
                                          $PAGE =~ s/__CONFIG__/$json/r);
            }
            my $verdict;
            if ($method eq 'POST' && $path eq '/verdict') {
                $verdict = eval { JSON::PP->new->utf8->decode($body) };
                ($status, $out) = (200, "ok\n");
            }
            $s->blocking(1);
            print $s "HTTP/1.1 $status X\r\nContent-Type: $type\r\n"
                . "Content-Length: " . length($out) . "\r\n"
                . "Connection: close\r\n\r\n$out";
            $sel->remove($s); delete $buf{$s}; $s->close;
            return $verdict if $verdict && $verdict->{name} eq $cfg->{name};
        }
    }
    return undef;
}

# One Chromium per case, fresh profile, stopped by pid (its group).
sub run_case {
    my ($srv, %cfg) = @_;
    $cfg{messages} = $MESSAGES;
    $cfg{pageMs} = ($CASE_TIMEOUT - 4) * 1000;
    $cfg{gatherMs} = 10000;
    my $profile = tempdir('trtc-chromium-XXXXXX', TMPDIR => 1,
                          CLEANUP => 1);
    my $chromium = TrtcTest::Turn::spawn($CHROMIUM,
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        "--user-data-dir=$profile",
        '--allow-loopback-in-peer-connection',
        '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, '
            . 'EXCLUDE localhost',
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        "http://127.0.0.1:$HTTP_PORT/case/$cfg{name}");
    my $v = serve(\%cfg, time + $CASE_TIMEOUT);
    my $e = $chromium->stop(5);
    my $log = $chromium->output;
    diag("chromium needed SIGKILL") if $e && $e->{killed};
    ok($v, "$cfg{name}: the page posted a verdict within ${CASE_TIMEOUT}s")
        or diag("chromium output (tail):\n"
                . TrtcTest::Turn::tail($log, 30));
    return $v || {};
}

my $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=turn:turn-pw
allow-loopback-peers
# two peer connections relayed by the one turnd: relay to relay
allow-relay-peers
EOF
my $port = $srv->port;

# The page's verdict is shown in full when any check of a case failed.
sub show_if_failed {
    my ($v, $failed_before) = @_;
    my @s = Test::More->builder->summary;
    diag("verdict: " . JSON::PP->new->canonical->pretty->encode($v))
        if grep({ !$_ } @s) > $failed_before;
}

sub failed_so_far { return scalar grep { !$_ } Test::More->builder->summary }

# Whether a verdict shows a whole, intact exchange (the checks below).
sub exchange_ok {
    my $v = shift;
    my $same = sub {
        my ($x, $y) = @_;
        return @$x == @$y && !grep { $x->[$_] ne $y->[$_] } 0 .. $#$x;
    };
    return !defined $v->{error} && @{$v->{sentAB} || []} == $MESSAGES
           && $same->($v->{recvAB} || [], $v->{sentAB})
           && $same->($v->{recvBA} || [], $v->{sentBA} || []);
}

for my $transport ('udp', 'tcp') {
    my %case = (name => "relay-$transport", mode => 'connect',
                urls => "turn:127.0.0.1:$port?transport=$transport",
                user => 'turn', pass => 'turn-pw');
    my $v = run_case($srv, %case);

    # Once in about ten full-suite runs a page reported its first few
    # b->a messages missing on an ordered, reliable channel (not
    # explained yet; see the issue note).  One more try in a fresh browser;
    # the first verdict is shown, and a real fault fails both tries.
    if (!exchange_ok($v)) {
        diag("relay over $transport: first try not intact, trying once "
             . "more; its verdict: "
             . JSON::PP->new->canonical->encode($v));
        $v = run_case($srv, %case);
    }

    my $failed = failed_so_far();
    my $name = "relay over $transport";
    is($v->{error}, undef, "$name: no error in the page");
    is(scalar @{$v->{sentAB} || []} + @{$v->{sentBA} || []}, 2 * $MESSAGES,
       "$name: the channel opened and $MESSAGES messages went each way");
    is_deeply($v->{recvAB}, $v->{sentAB}, "$name: messages a->b intact");
    is_deeply($v->{recvBA}, $v->{sentBA}, "$name: messages b->a intact");
    for my $pc ('a', 'b') {
        my $p = $v->{pairs}{$pc} || {};
        is(join('/', map { $_ // '-' } $p->{local}{type},
                $p->{remote}{type}), 'relay/relay',
           "$name: pc $pc selected pair is relay/relay");
        is($p->{local}{relayProtocol}, $transport,
           "$name: pc $pc relayProtocol $transport");
    }
    show_if_failed($v, $failed);
}

{
    my $v = run_case($srv, name => 'wrong-password', mode => 'gather',
        urls => ["turn:127.0.0.1:$port?transport=udp",
                 "turn:127.0.0.1:$port?transport=tcp"],
        user => 'turn', pass => 'wrong');
    my $failed = failed_so_far();
    for my $t ('udp', 'tcp') {
        my @codes = map { $_->{code} }
                    grep { ($_->{url} // '') =~ /transport=$t/ }
                    @{$v->{candErrors} || []};
        ok(@codes && !grep({ $_ != 401 } @codes),
           "wrong password over $t: icecandidateerror 401");
    }
    is(scalar(grep { / typ relay / } @{$v->{cands}{a} || []}), 0,
       'wrong password: no relay candidate');
    show_if_failed($v, $failed);
}

ok($srv->alive, 'server still running');
$srv->stop_ok;

done_testing;
