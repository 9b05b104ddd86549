#!/usr/bin/perl

# A TCP client's stream, cut every way: many ChannelData frames in one
# write, one frame a byte at a time, a header split across writes, a
# frame too large to take (skipped, the connection goes on), a STUN
# request between frames; and the other way, a burst from the peer that
# must come back whole and in order over the client's connection (turnd
# sends a batch of peer datagrams in one write).
#
# Runs against build/turnd; TRTC_TEST_TURN_SERVER=coturn for coturn.

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);

use TrtcTest::Stun;
use TrtcTest::Turn;

my $REALM = 'trtc.test';
my $CH = 0x4001;

my $srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=$REALM
lt-cred-mech
user=alice:alice-pw
allow-loopback-peers
EOF

my $peer = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                 Proto => 'udp') or die "peer: $!";
my $pport = $peer->sockport;

# What the peer received within $t seconds, in order.
sub peer_all {
    my ($want, $t) = @_;
    my @got;
    my $sel = IO::Select->new($peer);
    while (@got < $want && $sel->can_read($t // 2)) {
        my $buf;
        $peer->recv($buf, 65536);
        push @got, $buf;
    }
    return @got;
}

sub frame {
    my $data = shift;
    my $pad = "\0" x ((4 - length($data) % 4) % 4);
    return pack('nn', $CH, length $data) . $data . $pad;
}

my $c = TrtcTest::Stun->new(port => $srv->port, proto => 'tcp',
                            user => 'alice', pass => 'alice-pw');
is($c->allocate->{code}, 200, 'tcp: Allocate');
is($c->channel_bind($CH, '127.0.0.1', $pport)->{code}, 200,
   'tcp: ChannelBind to a loopback peer');

# Whoever the peer is, it answers to the relay address it saw.
my $relay;

{
    # 50 frames of different sizes in one write
    my @msgs = map { sprintf("m%03d:", $_) . ('x' x ($_ * 7 % 61)) } 1 .. 50;
    $c->send_raw(join '', map { frame($_) } @msgs);
    my @got = peer_all(scalar @msgs);
    is(scalar @got, 50, '50 frames in one write: 50 datagrams');
    is_deeply(\@got, \@msgs, '... whole and in order');
}

{
    # one frame a byte at a time
    my $f = frame('byte by byte');
    for my $i (0 .. length($f) - 1) {
        $c->send_raw(substr $f, $i, 1);
        sleep 0.005;
    }
    my @got = peer_all(1);
    is($got[0] // '', 'byte by byte', 'a frame sent a byte at a time');
}

{
    # the header split, and two frames split in the middle of the second
    my $s = frame('first') . frame('second, split');
    $c->send_raw(substr $s, 0, 2);
    sleep 0.05;
    $c->send_raw(substr $s, 2, 13);
    sleep 0.05;
    $c->send_raw(substr $s, 15);
    my @got = peer_all(2);
    is_deeply(\@got, ['first', 'second, split'],
              'frames split in the header and in the payload');
}

{
    # a frame larger than a TCP frame turnd takes (4 KiB), then a good one
    my $big = 'B' x 6000;
    $c->send_raw(frame($big) . frame('after the big one'));
    my @got = peer_all(2, 1);
    ok(!grep({ length $_ > 4096 } @got),
       'a frame larger than 4 KiB is not relayed')
        unless TrtcTest::Turn::is_coturn();
    is($got[-1] // '', 'after the big one',
       '... and the frame after it is');
}

{
    # a STUN request between frames in one write: answered, both relayed
    my $tid = TrtcTest::Stun::tid();
    my $bind = TrtcTest::Stun::encode('binding', 'request', $tid, []);
    $c->send_raw(frame('before') . $bind . frame('after'));
    my @got = peer_all(2);
    is_deeply(\@got, ['before', 'after'], 'frames around a STUN request');
    my $r;
    for (1 .. 5) {
        my $raw = $c->recv_raw(2) // last;
        my $d = TrtcTest::Stun::decode($raw) or next;
        if ($d->{tid} eq $tid) { $r = $d; last }
    }
    is($r && $r->{class}, 'success', '... and the Binding is answered');
}

{
    # the peer learns the relay address from a datagram, then bursts
    $c->send_raw(frame('hello peer'));
    my $buf;
    IO::Select->new($peer)->can_read(2);
    $relay = $peer->recv($buf, 65536);
    ok(defined $relay, 'the peer knows the relay address');

    my $n = 300;
    for my $i (1 .. $n) {
        $peer->send(sprintf('burst %04d ', $i) . ('p' x ($i % 200)), 0,
                    $relay);
    }

    my @got;
    while (@got < $n) {
        my ($data, $ch) = $c->recv_data(2);
        last unless defined $data;
        push @got, $data;
    }

    # turnd gives a relay socket with a permission room for a burst
    local $TODO = 'coturn 4.6.1 loses part of such a burst at its relay '
        . 'socket' if TrtcTest::Turn::is_coturn();
    is(scalar @got, $n, "a burst of $n datagrams from the peer: all back");
    is_deeply(\@got,
              [map { sprintf('burst %04d ', $_) . ('p' x ($_ % 200)) }
                   1 .. $n],
              '... whole and in order');
}

is($c->refresh(0)->{code}, 200, 'Refresh 0');
ok($srv->alive, 'server alive');
$srv->stop_ok;

done_testing;
