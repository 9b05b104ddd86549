#!/usr/bin/perl

# What an attacker of a TURN server tries first (issue 15), against the
# real turnd over loopback:
#
#   - user-quota holds for TURN REST users (counted by name, not by the
#     whole EXPIRY:NAME username that changes every second);
#   - turnd's own listener and relay addresses are refused as peers on
#     every path, unless allowed-peer-ip allows them;
#   - a credentials file emptied under turnd is refused on SIGHUP;
#   - 3,000 idle TCP connections from one source do not stop a second
#     source's call, under a 600-descriptor limit;
#   - out of descriptors, an Allocate gets 508 and the log says why;
#   - a flood of unauthenticated Allocates from 4,000 spoofed sources is
#     answered at most at unauth-rate per /24, and turnd's memory stays
#     flat.
#
# Runs against build/turnd (TRTC_TEST_TURND=path for another build, such
# as make test's ASan one).  Not for coturn: these are turnd's defaults.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use Time::HiRes qw(time sleep);

use TrtcTest::Stun qw(rest_credentials);
use TrtcTest::Turn;

plan skip_all => 'turnd only (these are its defaults)'
    if TrtcTest::Turn::is_coturn();

my $FLOOD = "$FindBin::Bin/lib/TrtcTest/flood.py";

my $ASAN = ($ENV{TRTC_TEST_TURND} // '') =~ /asan/;


# --- user-quota per REST name ---------------------------------------------

{
    my $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
use-auth-secret
static-auth-secret=q-secret
user-quota=2
EOF
    my @codes;
    for my $i (0 .. 3) {
        # what /trtc/proxy mints: a new expiry every second
        my ($u, $p) = rest_credentials('q-secret', 'alice', int(time) + 600 + $i);
        my $c = TrtcTest::Stun->new(port => $srv->port, user => $u,
                                    pass => $p);
        push @codes, $c->allocate->{code} // 'none';
    }
    is("@codes", '200 200 486 486',
       'user-quota=2: four REST credentials of alice, two allocations');

    my ($u, $p) = rest_credentials("q-secret", "bob", int(time) + 600);
    my $c = TrtcTest::Stun->new(port => $srv->port, user => $u, pass => $p);
    is($c->allocate->{code}, 200, 'another name has its own quota');
    $srv->stop_ok;
}


# --- turnd's own addresses are not peers ----------------------------------

{
    my $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
allow-loopback-peers
EOF
    my $peer = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     Proto => 'udp') or die $!;
    my $pport = $peer->sockport;
    my ($a, $b) = map {
        TrtcTest::Stun->new(port => $srv->port, user => 'u', pass => 'p')
    } 1 .. 2;
    is($a->allocate->{code}, 200, 'allocation A');
    is($b->allocate->{code}, 200, 'allocation B');
    my ($lp, $bp) = ($srv->port, $b->{relay_port});

    is($a->create_permission('127.0.0.1', $lp)->{code}, 403,
       'CreatePermission to the listening port: 403');
    is($a->create_permission('127.0.0.1', $bp)->{code}, 403,
       "CreatePermission to another relay's port: 403");
    is($a->channel_bind(0x4001, '127.0.0.1', $lp)->{code}, 403,
       'ChannelBind to the listening port: 403');
    is($a->channel_bind(0x4002, '127.0.0.1', $bp)->{code}, 403,
       "ChannelBind to another relay: 403");

    # with a permission for 127.0.0.1 (a real peer there), Send to our
    # own port: a Binding through the relay must not be answered
    is($a->create_permission('127.0.0.1', $pport)->{code}, 200,
       'CreatePermission to a loopback peer: 200');
    is($b->create_permission('127.0.0.1', $pport)->{code}, 200,
       'B: CreatePermission to a loopback peer: 200');
    my $binding = TrtcTest::Stun::encode('binding', 'request',
                                         TrtcTest::Stun::tid(), []);
    $a->send_indication('127.0.0.1', $lp, $binding);
    $a->send_indication('127.0.0.1', $bp, 'A to B');
    my ($data) = $a->recv_data(1);
    ok(!defined $data, 'a Binding sent through the relay to turnd itself '
       . 'is not answered');
    ($data) = $b->recv_data(0.5);
    ok(!defined $data, 'relay A does not deliver to relay B');

    # the relays still work for a real peer
    $a->send_indication('127.0.0.1', $pport, 'to the peer');
    my $got = '';
    my $sel = IO::Select->new($peer);
    $peer->recv($got, 100) if $sel->can_read(2);
    is($got, 'to the peer', 'a real peer still gets data');
    $srv->stop_ok;

    $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
allow-loopback-peers
allow-relay-peers
EOF
    ($a, $b) = map {
        TrtcTest::Stun->new(port => $srv->port, user => 'u', pass => 'p')
    } 1 .. 2;
    $a->allocate;
    $b->allocate;
    is($a->create_permission('127.0.0.1', $srv->port)->{code}, 403,
       'allow-relay-peers: the listening port still 403');
    is($a->create_permission('127.0.0.1', $b->{relay_port})->{code}, 200,
       'allow-relay-peers: another relay 200');
    $b->create_permission('127.0.0.1', $a->{relay_port});
    $a->send_indication('127.0.0.1', $b->{relay_port}, 'A to B');
    ($data) = $b->recv_data(2);
    is($data, 'A to B', 'allow-relay-peers: relay A delivers to relay B');
    $srv->stop_ok;

    $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
allow-loopback-peers
allowed-peer-ip=127.0.0.1
EOF
    $a = TrtcTest::Stun->new(port => $srv->port, user => 'u', pass => 'p');
    $a->allocate;
    is($a->create_permission('127.0.0.1', $srv->port)->{code}, 200,
       'allowed-peer-ip allows them explicitly');
    $srv->stop_ok;
}


# --- an emptied credentials file is refused on SIGHUP ---------------------

{
    my $dir = tempdir('trtc-150-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $file = "$dir/credentials";
    open my $fh, '>', $file or die $!;
    print $fh "realm trtc.test\nuser alice apass\n";
    close $fh;
    chmod 0600, $file;

    my $srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=trtc.test
lt-cred-mech
credentials-file=$file
EOF
    my $c = TrtcTest::Stun->new(port => $srv->port, user => 'alice',
                                pass => 'apass');
    is($c->allocate->{code}, 200, 'alice from the credentials file');

    open $fh, '>', $file or die $!;     # truncated, as mid-rewrite
    close $fh;
    kill 'HUP', $srv->server_pid;
    my $line = $srv->wait_log(qr/credentials not reloaded/, 5);
    like($line // '', qr/no users and no secrets/,
         'an empty credentials file is refused, with the reason logged');

    $c = TrtcTest::Stun->new(port => $srv->port, user => 'alice',
                             pass => 'apass');
    is($c->allocate->{code}, 200, 'the old credentials stay in use');
    $srv->stop_ok;
}


# --- 3,000 idle TCP connections from one source ---------------------------

{
    my $srv = TrtcTest::Turn->start(nofile => 600, conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
allow-loopback-peers
relay-threads=2
EOF
    my $flood = TrtcTest::Turn::spawn('python3', $FLOOD, 'tcp', $srv->port,
                                      3000, 10);
    sleep 4;

    my $peer = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     Proto => 'udp') or die $!;
    my (%code, @keep);
    for my $proto (qw(tcp udp)) {
        my $c = eval {
            TrtcTest::Stun->new(proto => $proto, port => $srv->port,
                                local => '127.0.0.2', user => 'u',
                                pass => 'p', timeout => 3)
        };
        $code{$proto} = $c ? $c->allocate->{code} // 'none' : 'no connect';
        if ($c && $code{$proto} eq '200') {
            $c->create_permission('127.0.0.1', $peer->sockport);
            $c->send_indication('127.0.0.1', $peer->sockport, "via $proto");
        }
        push @keep, $c;
    }
    my @got;
    my $sel = IO::Select->new($peer);
    while (@got < 2 && $sel->can_read(2)) {
        my $d;
        $peer->recv($d, 100);
        push @got, $d;
    }
    is("tcp $code{tcp} udp $code{udp}", 'tcp 200 udp 200',
       'a second source allocates over TCP and UDP during the flood');
    is(join(',', sort @got), 'via tcp,via udp', 'and its data is relayed');

    my $end = time + 15;
    sleep 0.2 while $flood->alive && time < $end;
    my $r = eval { decode_json((split /\n/, $flood->output)[-1]) } || {};
    $flood->stop;
    note('flood: ' . $flood->output);
    ok(($r->{opened} // 0) >= 3000, "the flood opened $r->{opened} "
       . "connections") or diag($flood->output);
    ok(defined $r->{held} && $r->{held} <= 16,
       'turnd kept at most max-unauth-tcp-per-ip (16) of them');
    unlike($srv->log, qr/Too many open files/,
           'turnd never ran out of descriptors');
    $srv->stop_ok;
}


# --- out of descriptors: 508 says so --------------------------------------

{
    my $srv = TrtcTest::Turn->start(nofile => 48, conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
relay-threads=1
EOF
    my (@c, %codes);
    for (1 .. 60) {
        my $c = TrtcTest::Stun->new(port => $srv->port, user => 'u',
                                    pass => 'p');
        $codes{$c->allocate->{code} // 'none'}++;
        push @c, $c;
    }
    ok($codes{200} && $codes{508} && keys %codes == 2,
       'under a 48-descriptor limit: allocations, then 508 ('
       . join(', ', map { "$_ x $codes{$_}" } sort keys %codes) . ')');
    my $log = $srv->log;
    like($log, qr/508 .*\(out of file descriptors\)/,
         'the log says out of file descriptors');
    unlike($log, qr/no relay port free/, 'not "no relay port free"');
    $srv->stop_ok;
}


# --- reflection: 4,000 spoofed sources --------------------------------------

{
    my $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=u:p
relay-threads=1
unauth-rate=20
log-file=/dev/null
EOF
    # warm up: the first responses touch their pages
    my $warm = TrtcTest::Turn::run(30, 'python3', $FLOOD, 'udp',
                                   $srv->port, 4000, 1, 2);
    my $rss0 = $srv->rss_kb;
    my $r = TrtcTest::Turn::run(60, 'python3', $FLOOD, 'udp', $srv->port,
                                4000, 5, 4);
    my $rss1 = $srv->rss_kb;
    my $f = eval { decode_json((split /\n/, $r->{out})[-1]) } || {};
    note("flood: $r->{out}");
    ok(($f->{sent} // 0) >= 19000, "4,000 sources sent $f->{sent} "
       . 'Allocates') or diag($r->{out});

    # a bucket per /24: a second's burst and the rate over the flood
    my $max = $f->{prefixes} * 20 * (1 + $f->{seconds} + 1.5);
    ok($f->{answered} > 0 && $f->{answered} <= $max,
       "answered $f->{answered} of $f->{sent}, at most $max at 20/s per "
       . "/24");
    my $ratio = $f->{bytes_in} ? $f->{bytes_out} / $f->{bytes_in} : 0;
    note(sprintf 'bytes out per byte in under the flood: %.3f (%d/%d)',
         $ratio, $f->{bytes_out}, $f->{bytes_in});
    ok($ratio < 0.5, sprintf 'reflection under the flood: %.2f bytes out '
       . 'per byte in', $ratio);

    SKIP: {
        skip 'RSS under ASan grows with its quarantine', 1 if $ASAN;
        ok(defined $rss1 && $rss1 - $rss0 < 2048,
           "RSS flat: $rss0 KiB before, $rss1 KiB after");
    }

    # a real client from one of those networks still gets in
    my $c = TrtcTest::Stun->new(port => $srv->port, local => '127.0.0.3',
                                user => 'u', pass => 'p');
    is($c->allocate->{code}, 200, 'a client of another network allocates');
    $srv->stop_ok;
}

done_testing;
