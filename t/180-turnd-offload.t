#!/usr/bin/perl

# turnd's kernel-offload (turnd/bpf/): UDP ChannelData relayed by the TC
# program, in two network namespaces joined by a veth pair (TrtcTest::
# Offload: turnd in one, clients and peers in the other).
#
#   - coturn's turnutils_uclient, our own client, bench/turnload and
#     headless Chromium (a data channel) relay through it, IPv4 and IPv6,
#     byte for byte, with the UDP checksums whole (the receiver checks
#     them) and partial (as from a container);
#   - the program's counters show the packets took it, and turnd's own
#     count of what it relayed in user space does not move;
#   - ChannelBind refreshes keep a mapping, a permission's expiry ends
#     it within a second, deleting the allocation removes it at once, a
#     denied peer never enters the map;
#   - kill -9: the program and its map go with the process, a restart
#     starts empty;
#   - without privilege turnd says why in one line and every case above
#     still relays, in user space.
#
# Runs against build/turnd only (coturn has no such thing).

use strict;
use warnings;

use File::Temp ();
use POSIX ();
use IO::Select;
use IO::Socket::IP;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);

use TrtcTest::Offload;
use TrtcTest::Stun;
use TrtcTest::Turn;

plan skip_all => 'kernel-offload is turnd\'s' if TrtcTest::Turn::is_coturn();
my $why = TrtcTest::Offload::need();
plan skip_all => $why if $why;

my %A = %TrtcTest::Offload::ADDR;
my $PORT = $TrtcTest::Offload::PORT;
my @SIZES = (0, 1, 2, 3, 4, 5, 7, 8, 100, 555, 1000, 1201, 1400);

my $net = TrtcTest::Offload->new;


# An allocation with one channel to a peer socket of ours, and one
# exchange both ways (the program learns where each side is from its
# first packet).  Returns (client, peer, channel) or () after a failed
# test.
sub channel_pair {
    my ($fam, %o) = @_;
    my $c = TrtcTest::Stun->new(host => $A{$fam}[0], port => $PORT,
                                user => 'u', pass => 'p', timeout => 2);
    my $peer = IO::Socket::IP->new(LocalHost => $A{$fam}[1], LocalPort => 0,
                                   Proto => 'udp')
        or die "peer socket: $!";
    my $ch = $o{channel} // 0x4000;
    my $r = $c->allocate(family => $fam == 4 ? 1 : 2);
    $r = $c->channel_bind($ch, $A{$fam}[1], $peer->sockport)
        if ($r->{code} // 0) == 200;
    unless (($r->{code} // 0) == 200) {
        fail("IPv$fam: allocation and ChannelBind: " . ($r->{code} // '-'));
        return ();
    }
    my ($got) = exchange($c, $peer, $ch, 'warm up', 'warm up back');
    return ($c, $peer, $ch) if $got;
    fail("IPv$fam: the first exchange came through");
    return ();
}


# Client -> peer, then peer -> relay -> client: 1 when both arrived
# exactly, from the relay address and on the channel.
sub exchange {
    my ($c, $peer, $ch, $up, $down, $timeout) = @_;
    $timeout //= 2;
    $c->channel_data($ch, $up);
    return 0 unless IO::Select->new($peer)->can_read($timeout);
    my $buf;
    $peer->recv($buf, 65536) // return 0;
    return 0 unless $buf eq $up && $peer->peerhost eq $c->{relay_ip}
                    && $peer->peerport == $c->{relay_port};
    $peer->send($buf = $down) // return 0;
    my ($data, $chan) = $c->recv_data($timeout);
    return defined $data && $data eq $down && $chan == $ch ? 1 : 0;
}

sub random_bytes { return join '', map { chr int rand 256 } 1 .. $_[0] }

# payload exchanges of every size; the relayed counters around them
sub exact_ok {
    my ($name, $fam, $want_offload) = @_;
    my ($c, $peer, $ch) = channel_pair($fam) or return;
    sleep 1.1;       # the warm-up folded into the counters
    my $before = $net->relayed;
    my $csum = TrtcTest::Offload::csum_errors();
    my $good = 0;
    for my $n (@SIZES) {
        $good += exchange($c, $peer, $ch, random_bytes($n),
                          random_bytes($n ? 1401 - $n : 0));
    }
    $c->refresh(0);
    my $after = $net->relayed;
    is($good, scalar @SIZES, "$name: payloads of " . join(', ', @SIZES)
       . ' bytes arrived exactly, both ways');
    is(TrtcTest::Offload::csum_errors() - $csum, 0,
       "$name: no datagram had a bad UDP checksum");
    my %d = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
    my $k = $want_offload ? scalar @SIZES : 0;
    ok($d{to_peer} == @SIZES && $d{from_peer} == @SIZES
       && $d{offload_to_peer} == $k && $d{offload_from_peer} == $k,
       "$name: " . ($want_offload ? 'all relayed by the program, none '
                                    . 'by turnd in user space'
                                  : 'all relayed by turnd in user space'))
        or diag(explain(\%d));
}

# turnutils_uclient, channels: all came back; the counters around it
sub uclient_ok {
    my ($name, $fam, $want_offload) = @_;
    my ($n, $m) = (100, 4);
    my $peer = TrtcTest::Turn::spawn('turnutils_peer', '-L', $A{$fam}[1],
                                     '-p', 3480);
    sleep 0.3;
    my $before = $net->relayed;
    my $r = TrtcTest::Turn::run(60, 'turnutils_uclient', '-p', $PORT,
        '-e', $A{$fam}[1], '-r', 3480, '-n', $n, '-m', $m, '-l', 180,
        '-z', 5, '-X', '-u', 'u', '-w', 'p', $A{$fam}[0]);
    $peer->stop;
    sleep 1.1;
    my $after = $net->relayed;
    my ($sent, $recv) =
        $r->{out} =~ /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m;
    ok(!$r->{timed_out} && $r->{rc} == 0 && defined $sent
       && $sent == $n * $m && $recv == $sent,
       "$name: turnutils_uclient, $n x $m messages, all came back")
        or diag("$r->{cmd}\n" . TrtcTest::Turn::tail($r->{out}, 10));
    my %d = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
    # to the peer: the datagrams a client sent before its peer's first
    # answer came (the program learns the way to the peer from it)
    ok($want_offload
       ? $d{offload_from_peer} == $d{from_peer} && $d{from_peer} >= $n * $m
         && $d{offload_to_peer} >= $d{to_peer} - 3 * $m
       : $d{offload_to_peer} == 0 && $d{offload_from_peer} == 0
         && $d{from_peer} >= $n * $m,
       "$name: " . ($want_offload ? 'relayed by the program (but the '
                                    . 'first datagrams of each client)'
                                  : 'relayed in user space'))
        or diag(explain(\%d));
}

# bench/turnload: 20 allocations, 2 s at 2000 round trips a second, each
# datagram checked (its allocation, sequence, length, last byte)
sub turnload_ok {
    my ($want_offload) = @_;
    my $bin = $net->turnload;
    ok($bin, 'bench/turnload builds') or return;
    my $before = $net->relayed;
    my $r = TrtcTest::Turn::run(60, $bin, '-m', 'relay',
        '-s', "$A{4}[0]:$PORT", '-P', "$A{4}[1]:4000", '-C', '10.218.16.1',
        '-u', 'u', '-U', 'p', '-n', 20, '-z', 200, '-r', 2000, '-d', 2,
        '-W', 0.5, '-T', 50);
    sleep 1.1;
    my $after = $net->relayed;
    my ($step) = $r->{out} =~ /^(STEP .* phase=fixed .*)$/m;
    my %s = ($step // '') =~ /(\w+)=(\S+)/g;
    ok(!$r->{timed_out} && $step && $s{sent} >= 3000 && $s{rx} == $s{sent}
       && $s{peer_rx} == $s{sent} && $s{bad} == 0,
       "turnload: $s{sent} round trips through 20 allocations, none lost "
       . 'or misrouted')
        or diag("$r->{cmd}\n" . TrtcTest::Turn::tail($r->{out}, 10));
    my %d = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
    ok($want_offload
       ? $d{offload_from_peer} == $d{from_peer}
         && $d{offload_to_peer} >= $d{to_peer} - 3 * 20
         && $d{from_peer} >= ($s{sent} // 1e9)
       : $d{offload_to_peer} == 0 && $d{offload_from_peer} == 0,
       'turnload: ' . ($want_offload ? 'relayed by the program'
                                     : 'relayed in user space'))
        or diag(explain(\%d));
}

# Headless Chromium: a data channel between two RTCPeerConnections of one
# page (a file:// page, its verdict on the console), "a" relayed by turnd
# over UDP (iceTransportPolicy relay), "b" with its host address only, so
# the relay's peer is b's address in "c" and the channel goes through the
# program.  Messages of varied length and characters go a -> b and are
# echoed back.
my $CHROMIUM = $ENV{TRTC_TEST_CHROMIUM} || '/usr/lib/chromium/chromium';
my $CHROMIUM_PAGE = <<'HTML';
<!doctype html>
<meta charset="utf-8">
<title>offload</title>
<script>
const cfg = __CONFIG__;
const v = {sent: [], recv: [], back: [], error: null, pair: null,
           cands: [], states: []};
const wait = ms => new Promise(r => setTimeout(r, ms));
function message(i) {
    let s = '#' + i + ' ';
    for (let k = 0; k < i * 53 % 1100; k++)
        s += String.fromCharCode(33 + (i * 7 + k * 13) % 90);
    return s + (i % 3 ? '' : ' \u00e9\u4e2d\u{1F600}');
}
async function run() {
    const a = new RTCPeerConnection({iceServers: [{urls: cfg.url,
        username: 'u', credential: 'p'}], iceTransportPolicy: 'relay'});
    const b = new RTCPeerConnection();
    a.onicecandidate = e => {
        if (!e.candidate) return;
        v.cands.push('a ' + e.candidate.candidate);
        b.addIceCandidate(e.candidate);
    };
    b.onicecandidate = e => {
        if (!e.candidate) return;
        v.cands.push('b ' + e.candidate.candidate);
        a.addIceCandidate(e.candidate);
    };
    a.onicecandidateerror = e => v.cands.push('error ' + e.errorCode + ' '
                                              + e.errorText);
    a.onconnectionstatechange = () => v.states.push(a.connectionState);
    const ch = a.createDataChannel('t', {ordered: true});
    b.ondatachannel = e => e.channel.onmessage = m => {
        v.recv.push(m.data); e.channel.send(m.data); };
    ch.onmessage = m => v.back.push(m.data);
    const open = new Promise(r => ch.onopen = r);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await open;
    for (let i = 0; i < cfg.n; i++) {
        v.sent.push(message(i)); ch.send(v.sent[i]); await wait(20);
    }
    for (let t = 0; t < 200 && v.back.length < cfg.n; t++) await wait(50);
    const st = await a.getStats();
    st.forEach(s => {
        if (s.type === 'transport' && s.selectedCandidatePairId) {
            const p = st.get(s.selectedCandidatePairId);
            v.pair = st.get(p.localCandidateId).candidateType + '/'
                     + st.get(p.remoteCandidateId).candidateType;
        }
    });
    a.close(); b.close();
}
let said = false;
function say() {
    if (!said) console.log('VERDICT ' + JSON.stringify(v));
    said = true;
}
setTimeout(() => { v.error = v.error || 'page timeout'; say(); }, 25000);
run().catch(e => v.error = String(e)).finally(say);
</script>
HTML

sub chromium_ok {
    my ($fam, $want_offload) = @_;
    my $n = 60;
    my $host = $fam == 4 ? $A{4}[0] : "[$A{6}[0]]";
    my $dir = File::Temp::tempdir('trtc-chromium-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $cfg = JSON::PP->new->encode({url => "turn:$host:$PORT?transport=udp",
                                     n => $n});
    open my $fh, '>', "$dir/page.html" or die "$dir/page.html: $!";
    print $fh $CHROMIUM_PAGE =~ s/__CONFIG__/$cfg/r;
    close $fh;
    my $before = $net->relayed;
    my $c = TrtcTest::Turn::spawn($CHROMIUM, '--headless', '--no-sandbox',
        '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update',
        '--disable-sync', "--user-data-dir=$dir/profile",
        '--disable-features=WebRtcHideLocalIpsWithMdns',
        '--host-resolver-rules=MAP * ~NOTFOUND',
        '--enable-logging=stderr', '--v=0', "file://$dir/page.html");
    my $end = time + 40;
    my $json;
    while (time < $end && $c->alive) {
        last if ($json) = $c->output =~ /VERDICT (\{.*\})/;
        sleep 0.2;
    }
    $c->stop(5);
    my $v = eval { JSON::PP->new->decode($json // '') } || {};
    sleep 1.1;
    my $after = $net->relayed;
    ok(!$v->{error} && @{$v->{sent} || []} == $n
       && is_deeply_quiet($v->{recv}, $v->{sent})
       && is_deeply_quiet($v->{back}, $v->{sent})
       && ($v->{pair} // '') eq 'relay/host',
       "IPv$fam: Chromium, a data channel relayed by turnd over UDP: "
       . "$n messages there and back, intact")
        or diag("verdict: " . ($json // 'none') . "\nchromium: "
                . TrtcTest::Turn::tail($c->output, 15));
    my %d = map { $_ => $after->{$_} - $before->{$_} } keys %$after;
    # Before the channel is bound Chromium sends Send indications.  Over
    # IPv6 it asks for an IPv4 relay (its relay candidate is 10.218.0.1):
    # a client and relay of two families stay in user space.
    my ($relay) = map { / (\S+) \d+ typ relay / } @{$v->{cands} || []};
    my $fast = $want_offload && ($fam == 4 || ($relay // '') =~ /:/);
    ok($fast
       ? $d{offload_to_peer} >= 0.8 * $d{to_peer} && $d{to_peer} >= $n
         && $d{offload_from_peer} >= 0.8 * $d{from_peer}
       : $d{offload_to_peer} == 0 && $d{offload_from_peer} == 0
         && $d{to_peer} >= $n,
       "IPv$fam: Chromium: " . ($fast
           ? 'the program relayed most of it (ChannelData)'
           : $want_offload
           ? 'its relay is IPv4, so turnd relayed it in user space'
           : 'relayed in user space'))
        or diag(explain(\%d), explain($v->{cands}), $v->{pair} // "-");
}

sub is_deeply_quiet {
    my ($x, $y) = @_;
    return ref $x && ref $y && @$x == @$y
           && !grep { $x->[$_] ne $y->[$_] } 0 .. $#$x;
}

sub map_count {
    my ($srv) = @_;
    my %ids = $net->bpf_ids($srv->{pid});
    return -1 unless $ids{map};
    my $d = $net->map_dump($ids{map});
    return defined $d ? scalar @$d : -1;
}


# --- the fast path ------------------------------------------------------

my $srv = $net->turnd;
my ($line) = $net->log($srv) =~ /^.*(kernel offload \S+: .*)$/m;

# tcx links (Linux 6.6) are what makes the program go with the process;
# on an older kernel turnd says so and relays in user space, and that is
# all there is to test (Debian 12's own kernel is 6.1)
my ($major, $minor) = (POSIX::uname())[2] =~ /^(\d+)\.(\d+)/;
if ($major < 6 || ($major == 6 && $minor < 6)) {
    like($line // '', qr/kernel offload off: .*; relaying in user space$/,
         "Linux $major.$minor, no tcx: one line says so");
    exact_ok("no tcx, IPv$_", $_, 0) for 4, 6;
    uclient_ok('no tcx, IPv4', 4, 0);
    $net->stop_ok($srv, 'no tcx');
    done_testing;
    exit;
}

like($line // '', qr/kernel offload on: .* on tdo\d+-s$/,
     'turnd says in one line that the program is attached, and where')
    or BAIL_OUT("no kernel offload here: " . ($line // 'no log line'));

for my $mode (qw(full partial)) {
    $net->csum($mode);
    exact_ok("IPv$_, $mode checksums", $_, 1) for 4, 6;
}
uclient_ok('IPv4', 4, 1);
uclient_ok('IPv6', 6, 1);
turnload_ok(1);
SKIP: {
    skip "chromium not installed ($CHROMIUM)", 4 unless -x $CHROMIUM;
    chromium_ok($_, 1) for 4, 6;
}

# 10.218.0.9: private, so denied (only .2 is allowed)
{
    my $c = TrtcTest::Stun->new(host => $A{4}[0], port => $PORT,
                                user => 'u', pass => 'p');
    $c->allocate;
    my $r = $c->channel_bind(0x4001, '10.218.0.9', 4000);
    is($r->{code}, 403, 'ChannelBind to a denied peer: 403');
    is(map_count($srv), 0, 'a denied peer never enters the map');
    $c->refresh(0);
}

# deleting the allocation
{
    my ($c, $peer, $ch) = channel_pair(4);
    is(map_count($srv), 2, 'a channel is two entries in the map');
    $c->refresh(0);
    is(map_count($srv), 0, 'Refresh 0: the mapping is gone at once');
    $peer->send('after delete', 0, $peer->peername);
    my ($data) = $c->recv_data(0.5);
    ok(!defined $data, 'and nothing reaches the old client any more');
}

$net->stop_ok($srv, 'fast path');


# --- lifetimes ----------------------------------------------------------

$srv = $net->turnd(conf => "permission-lifetime=3\nchannel-lifetime=30\n");

{
    # refreshed every 1.5 s for 6 s: the program relays all of it
    my ($c, $peer, $ch) = channel_pair(4);
    sleep 1.1;
    my $before = $net->relayed;
    my ($n, $good, $t0) = (0, 0, time);
    while (time - $t0 < 6) {
        $c->channel_bind($ch, $A{4}[1], $peer->sockport)
            if ++$n % 6 == 0;
        $good += exchange($c, $peer, $ch, "r$n", "R$n");
        sleep 0.25;
    }
    sleep 1.1;
    my $after = $net->relayed;
    is($good, $n, "ChannelBind refreshed: $n exchanges over 6 s, all "
       . 'arrived');
    is($after->{offload_to_peer} - $before->{offload_to_peer}, $n,
       'ChannelBind refreshed: the program relayed them all (the mapping '
       . 'stayed)');

    # no refresh: forwarding stops once the permission is over
    $c->channel_bind($ch, $A{4}[1], $peer->sockport);
    my $bound = time;
    my $last = $bound;
    while (time - $bound < 6) {
        $last = time if exchange($c, $peer, $ch, 'x', 'y', 0.1);
        sleep 0.05;
    }
    my $stop = $last - $bound;
    ok($stop > 2.7 && $stop < 4.5,
       sprintf('permission-lifetime=3: relayed until %.1f s, then no more '
               . '(3 s and one of the timer\'s)', $stop));
    is(map_count($srv), 0, 'and the mapping left the map');
    $c->refresh(0);
}


# --- kill -9, restart ---------------------------------------------------

{
    my ($c, $peer, $ch) = channel_pair(4);
    my %ids = $net->bpf_ids($srv->{pid});
    ok($ids{prog} && $ids{map}, "turnd holds its program ($ids{prog}) "
       . "and map ($ids{map})");
    $net->stop($srv, kill => 1);
    sleep 0.5;
    my $r = TrtcTest::Turn::run(10, 'bpftool', 'prog', 'show', 'id',
                                $ids{prog} // 0);
    ok($r->{rc} != 0, 'kill -9: the kernel dropped the program');
    ok(!defined $net->map_dump($ids{map} // 0), 'and its map');
    $peer->send('after kill', 0, $peer->peername);
    my ($data) = $c->recv_data(0.5);
    ok(!defined $data, 'nothing is relayed any more');

    $srv = $net->turnd;
    is(map_count($srv), 0, 'restarted: an empty map');
    exact_ok('restarted, IPv4', 4, 1);
    $net->stop_ok($srv, 'restarted');
}


# --- without privilege --------------------------------------------------

$srv = $net->turnd(unprivileged => 1);
($line) = $net->log($srv) =~ /^.*(kernel offload \S+: .*)$/m;
like($line // '',
     qr/kernel offload off: no privilege .*; relaying in user space$/,
     'no privilege: one line says why, user space relays');
exact_ok("no privilege, IPv$_", $_, 0) for 4, 6;
uclient_ok('no privilege, IPv4', 4, 0);
turnload_ok(0);
SKIP: {
    skip "chromium not installed ($CHROMIUM)", 2 unless -x $CHROMIUM;
    chromium_ok(4, 0);
}
$net->stop_ok($srv, 'no privilege');

done_testing;
