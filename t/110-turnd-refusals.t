#!/usr/bin/perl

# What the TURN server must refuse, and how, seen with our own STUN client:
# exact error codes for bad credentials, stale nonces, denied peers,
# quotas, transports; silence for malformed packets.  After each refusal a
# good request must still succeed.
#
# Runs against build/turnd; TRTC_TEST_TURN_SERVER=coturn runs it against
# coturn 4.6.1, where the cases coturn handles differently are TODO (the
# assertion stays the one turnd must meet).

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Socket qw(pack_sockaddr_in inet_aton);
use Test::More;
use Time::HiRes qw(time sleep);

use TrtcTest::Stun qw(encode rest_credentials);
use TrtcTest::Turn;

my $COTURN = TrtcTest::Turn::is_coturn();
my $REALM = 'trtc.test';

# An address no test packet ever goes to: only permissions are made for
# it (a permission sends nothing).  Not in any special-purpose range.
my $PUBLIC = '8.8.8.8';

# A UDP socket that plays the peer on a loopback address.
sub peer_sock {
    my $ip = shift // '127.0.0.1';
    return IO::Socket::INET->new(LocalAddr => $ip, LocalPort => 0,
                                 Proto => 'udp') || die "peer socket: $!";
}

# What the peer received within $t seconds (undef: nothing).
sub peer_recv {
    my ($s, $t) = @_;
    return undef unless IO::Select->new($s)->can_read($t // 2);
    my $buf;
    $s->recv($buf, 65536);
    return $buf;
}

sub client {
    my ($srv, %o) = @_;
    return TrtcTest::Stun->new(port => $srv->port, user => 'alice',
                               pass => 'alice-pw', %o);
}

sub code { return $_[0]{code} // 'no response' }

# A public peer past the peer filter: 200, or from turnd's loopback relay
# (the tests' relay-ip) 403 for the relay, not the filter, as its log
# says: a loopback relay cannot reach it (issue 13), so it is refused
# rather than sent.
sub public_code {
    my ($srv, $r) = @_;
    return 200 if !$COTURN && ($r->{code} // 0) == 403
                  && $srv->log =~ /to peer \Q$PUBLIC\E:\d+ refused: relay (?:127\.0\.0\.1):\d+ is loopback/;
    return code($r);
}

# What came back, readable in a failure message (undef: nothing).
sub what {
    my $raw = shift;
    return undef unless defined $raw;
    my $r = TrtcTest::Stun::decode($raw);
    return length($raw) . ' bytes, not STUN' unless $r;
    return "STUN $r->{class} method $r->{method} code "
        . ($r->{code} // '-');
}

# A fresh allocation that works, as the "good request after the refusal".
sub good_allocation {
    my ($srv, $what, %o) = @_;
    my $c = client($srv, %o);
    my $r = $c->allocate;
    is(code($r), 200, "$what: then a good Allocate succeeds");
    $c->refresh(0);
    return $c;
}


# --- 1. credentials, nonces, transports, malformed input -----------------

my $srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=$REALM
lt-cred-mech
user=alice:alice-pw
user=bob:bob-pw
allow-loopback-peers
denied-peer-ip=127.0.0.2
stale-nonce=2
EOF

for my $proto ('udp', 'tcp') {
    my $c = client($srv, proto => $proto, pass => 'wrong');
    is(code($c->allocate), 401, "$proto: wrong password -> 401");
    good_allocation($srv, "$proto: wrong password", proto => $proto);

    $c = client($srv, proto => $proto, user => 'mallory');
    is(code($c->allocate), 401, "$proto: unknown user -> 401");
    good_allocation($srv, "$proto: unknown user", proto => $proto);
}

{
    # A request without credentials is challenged with realm and nonce.
    my $c = client($srv);
    my $r = $c->request('allocate',
        [[$TrtcTest::Stun::ATTR{REQUESTED_TRANSPORT}, pack('Cx3', 17)]]);
    is(code($r), 401, 'no credentials -> 401');
    ok(defined TrtcTest::Stun::attr($r, 'NONCE')
       && TrtcTest::Stun::attr($r, 'REALM') eq $REALM,
       '401 carries NONCE and our REALM');
}

{
    # Stale nonce: stale-nonce=2, so after 3 s a request with the old
    # nonce gets 438 and a new nonce; the retry with it succeeds.
    my $c = client($srv);
    is(code($c->allocate), 200, 'stale nonce: allocation');
    my $old = $c->{nonce};
    sleep 3.5;
    my $r = $c->create_permission('127.0.0.1');
    is(code($r), 438, 'stale nonce -> 438 after stale-nonce seconds');
    my $new = TrtcTest::Stun::attr($r, 'NONCE');
    ok(defined $new && $new ne $old, '438 carries a fresh NONCE');
    is(code($c->create_permission('127.0.0.1')), 200,
       'stale nonce: retry with the fresh nonce succeeds');
    $c->refresh(0);
}

for my $proto ('udp', 'tcp') {
    # TCP relays (RFC 6062) are not offered: browsers never ask for them.
    my $c = client($srv, proto => $proto);
    my $r = $c->allocate(transport => 6);
    {
        local $TODO = $proto eq 'udp'
            ? 'coturn 4.6.1 answers 400 (RFC 6062: TCP allocation over UDP)'
            : 'coturn 4.6.1 implements RFC 6062 TCP relays'
            if $COTURN;
        is(code($r), 442, "$proto: REQUESTED-TRANSPORT=TCP -> 442");
    }
    $c->refresh(0) if code($r) == 200;
    good_allocation($srv, "$proto: TCP transport", proto => $proto);

    $c = client($srv, proto => $proto);
    is(code($c->allocate(no_transport => 1)), 400,
       "$proto: no REQUESTED-TRANSPORT -> 400");
    good_allocation($srv, "$proto: no transport", proto => $proto);
}

{
    # A peer in denied-peer-ip: 403, and nothing reaches it; a peer that
    # is allowed (loopback, allow-loopback-peers) gets data both ways.
    my $c = client($srv);
    my $r = $c->allocate;
    is(code($r), 200, 'denied-peer-ip: allocation');
    is($r->{integrity}, 1, 'the success carries a valid MESSAGE-INTEGRITY');
    my $denied = peer_sock('127.0.0.2');
    my $dport = $denied->sockport;
    is(code($c->create_permission('127.0.0.2')), 403,
       'denied-peer-ip: CreatePermission -> 403');
    is(code($c->channel_bind(0x4001, '127.0.0.2', $dport)), 403,
       'denied-peer-ip: ChannelBind -> 403');
    $c->send_indication('127.0.0.2', $dport, 'must not arrive');
    $c->channel_data(0x4001, 'must not arrive either');
    is(peer_recv($denied, 1), undef, 'denied-peer-ip: nothing relayed');

    my $peer = peer_sock('127.0.0.1');
    my $pport = $peer->sockport;
    is(code($c->create_permission('127.0.0.1')), 200,
       'then CreatePermission to an allowed peer succeeds');
    $c->send_indication('127.0.0.1', $pport, 'ping');
    is(peer_recv($peer), 'ping', 'Send indication relayed to the peer');
    $peer->send('pong', 0,
        pack_sockaddr_in($c->{relay_port}, inet_aton($c->{relay_ip})));
    my ($data) = $c->recv_data(2);
    is($data, 'pong', 'Data indication back from the peer');
    is(code($c->channel_bind(0x4002, '127.0.0.1', $pport)), 200,
       'ChannelBind to the allowed peer succeeds');
    $c->channel_data(0x4002, 'chan');
    is(peer_recv($peer), 'chan', 'ChannelData relayed');
    is(code($c->refresh(0)), 200, 'Refresh 0 ends the allocation');
}

{
    # Malformed packets are dropped without an answer.  Each is built from
    # a good Binding request and broken in one way.
    my $tid = "\x01" x 12;
    my $bind = encode('binding', 'request', $tid, []);
    my $alloc = encode('allocate', 'request', $tid,
        [[$TrtcTest::Stun::ATTR{REQUESTED_TRANSPORT}, pack('Cx3', 17)]]);
    my $fp = encode('binding', 'request', $tid,
        [[$TrtcTest::Stun::ATTR{SOFTWARE}, 'trtc']], fingerprint => 1);
    my %bad = (
        'truncated header' => substr($bind, 0, 19),
        'length beyond the datagram' =>
            substr($bind, 0, 2) . pack('n', 64) . substr($bind, 4),
        'length not a multiple of 4' => substr($bind, 0, 2) . pack('n', 3)
            . substr($bind, 4) . "abc",
        'attribute overruns the message' => substr($bind, 0, 2)
            . pack('n', 8) . substr($bind, 4) . pack('nn', 0x8022, 200)
            . 'abcd',
        # (a Binding without the cookie is RFC 3489's: not malformed)
        'Allocate without the magic cookie' =>
            substr($alloc, 0, 4) . "\x21\x12\xa4\x43" . substr($alloc, 8),
        'bad FINGERPRINT' => substr($fp, 0, -1)
            . chr(ord(substr($fp, -1)) ^ 1),
        'a success response sent to the server' =>
            encode('binding', 'success', $tid, []),
        'ChannelData on an unbound channel' =>
            pack('nn', 0x4abc, 4) . 'data',
        'Allocate with an attribute overrunning' =>
            substr($alloc, 0, 22) . pack('n', 40) . substr($alloc, 24),
    );
    for my $name (sort keys %bad) {
        my $c = client($srv);
        $c->send_raw($bad{$name});
        local $TODO = 'coturn 4.6.1 parses up to the bad attribute'
            if $COTURN && $name =~ /overrun/;
        is(what($c->recv_raw(0.5)), undef, "malformed ($name): no response");
    }

    # A burst of garbage from several source ports (bounded: 300).
    my @socks = map { client($srv) } 1 .. 6;
    for my $i (1 .. 300) {
        my $g = join '', map { chr int rand 256 } 1 .. 1 + int rand 600;
        # never the cookie at offset 4, so it cannot be a STUN message
        substr($g, 4, 1) = "\x00" if length $g > 4;
        $socks[$i % @socks]->send_raw($g);
    }
    my $answers = grep { defined $_->recv_raw(0.3) } @socks;
    is($answers, 0, 'garbage burst: no response to any of 300 datagrams');

    # Garbage on a TCP connection: whatever the server does with that
    # connection, it keeps serving the others.
    my $t = client($srv, proto => 'tcp');
    $t->send_raw("GET / HTTP/1.0\r\n\r\n" . ("\xff" x 100));
    sleep 0.3;

    ok($srv->alive, 'server still running after malformed input');
    is(code(client($srv)->binding), 200, 'UDP Binding still answered');
    is(code(client($srv, proto => 'tcp')->binding), 200,
       'TCP Binding still answered');
    good_allocation($srv, 'after garbage');
    good_allocation($srv, 'after garbage (tcp)', proto => 'tcp');
}

$srv->stop_ok;


# --- 2. default peer filter: loopback denied, special ranges denied ------

$srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=$REALM
lt-cred-mech
user=alice:alice-pw
EOF

{
    my $c = client($srv);
    is(code($c->allocate), 200, 'peer filter: allocation');
    my $ch = 0x4000;

    # Loopback without allow-loopback-peers: refused and not relayed.
    my $peer = peer_sock('127.0.0.1');
    my $pport = $peer->sockport;
    is(code($c->create_permission('127.0.0.1')), 403,
       'loopback peer: CreatePermission -> 403');
    is(public_code($srv, $c->create_permission($PUBLIC)), 200,
       'then a permission for a public peer succeeds');
    is(code($c->channel_bind(++$ch, '127.0.0.1', $pport)), 403,
       'loopback peer: ChannelBind -> 403');
    is(public_code($srv, $c->channel_bind(++$ch, $PUBLIC, 3478)), 200,
       'then ChannelBind to a public peer succeeds');
    $c->send_indication('127.0.0.1', $pport, 'must not arrive');
    $c->channel_data($ch - 1, 'must not arrive');
    is(peer_recv($peer, 1), undef, 'loopback peer: nothing relayed');

    # Metadata, RFC 1918 and "this network" are denied by default.
    for my $ip ('10.0.0.1', '169.254.169.254', '0.0.0.0') {
        local $TODO = "coturn 4.6.1 does not deny $ip by default"
            if $COTURN && $ip ne '0.0.0.0';
        is(code($c->create_permission($ip)), 403,
           "$ip: CreatePermission -> 403");
        is(code($c->channel_bind(++$ch, $ip, 80)), 403,
           "$ip: ChannelBind -> 403");
    }
    is(public_code($srv, $c->create_permission($PUBLIC)), 200,
       'then a permission for a public peer succeeds');

    # IPv4-mapped loopback in an IPv6 XOR-PEER-ADDRESS: a server that
    # canonicalizes first sees 127.0.0.1 (403); one that compares families
    # sees an IPv6 peer on an IPv4 allocation (443, RFC 8656 s. 7.2 and
    # 9.1).  Either way it must not be relayed.
    for my $ip ('::ffff:127.0.0.1', '::1') {
        my $r = $c->create_permission($ip);
        like(code($r), qr/^(403|443)$/,
             "$ip: CreatePermission -> 403 or 443");
        like(code($c->channel_bind(++$ch, $ip, $pport)), qr/^(403|443)$/,
             "$ip: ChannelBind -> 403 or 443");
        $c->send_indication($ip, $pport, 'must not arrive');
        $c->channel_data($ch, 'must not arrive');
        is(peer_recv($peer, 1), undef, "$ip: nothing relayed to 127.0.0.1");
    }
    is(code($c->refresh(60)), 200, 'then Refresh succeeds');
    is(code($c->refresh(0)), 200, 'Refresh 0 ends the allocation');
}

$srv->stop_ok;


# --- 3. quotas ------------------------------------------------------------

$srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=$REALM
lt-cred-mech
user=alice:alice-pw
user=bob:bob-pw
user=carol:carol-pw
allow-loopback-peers
user-quota=1
total-quota=2
EOF

{
    my $a1 = client($srv);
    is(code($a1->allocate), 200, 'quota: first allocation of alice');
    my $a2 = client($srv);      # another client port, same user
    is(code($a2->allocate), 486, 'user-quota=1: second one -> 486');

    my $b = client($srv, user => 'bob', pass => 'bob-pw');
    is(code($b->allocate), 200, 'quota: bob allocates (2 of 2)');
    my $c = client($srv, user => 'carol', pass => 'carol-pw');
    {
        local $TODO = 'coturn 4.6.1 answers 486 for both quotas' if $COTURN;
        is(code($c->allocate), 508, 'total-quota=2: third user -> 508');
    }

    # Refresh with LIFETIME 0 deletes the allocation at once, so its
    # quota is free again.
    my $todo = 'coturn 4.6.1 still counts an allocation deleted by '
             . 'Refresh 0 (its client session lingers)';
    is(code($a1->refresh(0)), 200, 'alice releases her allocation');
    $a2 = client($srv);
    { local $TODO = $todo if $COTURN;
      is(code($a2->allocate), 200, 'then alice can allocate again'); }
    is(code($b->refresh(0)), 200, 'bob releases his allocation');
    $c = client($srv, user => 'carol', pass => 'carol-pw');
    { local $TODO = $todo if $COTURN;
      is(code($c->allocate), 200, 'then carol can allocate'); }
    $_->refresh(0) for $a2, $c;
}

$srv->stop_ok;


# --- 4. TURN REST API credentials (use-auth-secret) ----------------------

$srv = TrtcTest::Turn->start(conf => <<"EOF");
realm=$REALM
use-auth-secret
static-auth-secret=rest-secret
allow-loopback-peers
EOF

{
    my ($u, $p) = rest_credentials('rest-secret', 'dave', int(time) - 60);
    my $c = client($srv, user => $u, pass => $p);
    is(code($c->allocate), 401, 'expired REST credential -> 401');

    ($u, $p) = rest_credentials('other-secret', 'dave', int(time) + 600);
    $c = client($srv, user => $u, pass => $p);
    is(code($c->allocate), 401, 'REST credential of another secret -> 401');

    ($u, $p) = rest_credentials('rest-secret', 'dave', int(time) + 600);
    $c = client($srv, user => $u, pass => $p);
    is(code($c->allocate), 200, 'then a valid REST credential succeeds');
    is(code($c->create_permission('127.0.0.1')), 200,
       'and CreatePermission with it');
    $c->refresh(0);
}

$srv->stop_ok;

done_testing;
