#!/usr/bin/perl

# Real TURN clients nobody here wrote, against the server under test:
# coturn's turnutils_stunclient (Binding) and turnutils_uclient (Allocate,
# permissions, channels or Send indications, data echoed by turnutils_peer
# or client to client), over UDP and TCP, with a static user and with
# TURN REST API credentials.  Every message must come back.
#
# Runs against build/turnd; TRTC_TEST_TURN_SERVER=coturn for coturn.
#
# turnutils_uclient 4.6.1: channels are its default, -s uses Send
# indications instead; -y is client to client; -X asks for an IPv4 relay.
# (-g there means DONT-FRAGMENT, not channels.)

use strict;
use warnings;

use Test::More;

use TrtcTest::Turn;
use TrtcTest::Util qw(free_port);

for my $tool (qw(turnutils_uclient turnutils_peer turnutils_stunclient)) {
    plan skip_all => "$tool not installed (apt-get install coturn)"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my ($N, $M, $L) = (100, 5, 200);    # messages per client, clients, bytes
my @RATE = ('-z', 5);               # ms between a client's messages

my $peer_port = free_port(proto => 'udp');
my $peer = TrtcTest::Turn::spawn('turnutils_peer', '-L', '127.0.0.1',
                                 '-p', $peer_port);

# turnutils_uclient's summary: all sent messages received, none lost.
sub uclient_ok {
    my ($name, $srv, @args) = @_;
    my $r = TrtcTest::Turn::run(60, 'turnutils_uclient',
        '-p', $srv->port, '-e', '127.0.0.1', '-r', $peer_port,
        '-n', $N, '-m', $M, '-l', $L, '-X', @RATE, @args, '127.0.0.1');
    my $out = $r->{out};
    my ($sent, $recv) =
        $out =~ /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m;
    my ($lost, $dropped) =
        $out =~ /Total lost packets (\d+) \([^)]*\), total send dropped (\d+)/;
    my $ok = !$r->{timed_out} && $r->{rc} == 0 && $out !~ /ERROR/
        && defined $sent && $sent >= $N * $M && $recv == $sent
        && defined $lost && $lost == 0 && $dropped == 0;
    ok($ok, "$name: $N x $M messages of $L bytes, all came back")
        or diag("$r->{cmd}\nrc=$r->{rc} timed_out=$r->{timed_out} "
                . "sent=" . ($sent // '?') . " recv=" . ($recv // '?')
                . " lost=" . ($lost // '?') . "\n"
                . TrtcTest::Turn::tail($out, 25));
}


# --- static user (lt-cred-mech, user=) ----------------------------------

my $srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
lt-cred-mech
user=turn:turn-pw
allow-loopback-peers
# client to client (-y) relays from one relay of the server to another:
# turnd denies its own relay addresses as peers unless allowed
allow-relay-peers
EOF

{
    my $r = TrtcTest::Turn::run(15, 'turnutils_stunclient',
                                '-p', $srv->port, '127.0.0.1');
    ok(!$r->{timed_out} && $r->{rc} == 0
       && $r->{out} =~ /UDP reflexive addr: 127\.0\.0\.1:\d+/,
       'turnutils_stunclient: Binding over UDP, reflexive address')
        or diag("$r->{cmd}\nrc=$r->{rc} timed_out=$r->{timed_out}\n"
                . $r->{out});
}

my @user = ('-u', 'turn', '-w', 'turn-pw');
uclient_ok('udp, channels', $srv, @user);
uclient_ok('udp, Send indications', $srv, @user, '-s');
uclient_ok('tcp, channels', $srv, @user, '-t');
uclient_ok('tcp, Send indications', $srv, @user, '-t', '-s');
uclient_ok('udp, client to client', $srv, @user, '-y');
uclient_ok('tcp, client to client', $srv, @user, '-t', '-y');

{
    # The same client with a wrong password must fail (the check above
    # can fail, too).
    my $r = TrtcTest::Turn::run(30, 'turnutils_uclient',
        '-p', $srv->port, '-e', '127.0.0.1', '-r', $peer_port,
        '-n', 5, '-m', 1, '-u', 'turn', '-w', 'wrong', '127.0.0.1');
    ok($r->{rc} != 0 && $r->{out} =~ /Cannot complete Allocation/,
       'uclient with a wrong password cannot allocate')
        or diag("$r->{cmd}\nrc=$r->{rc}\n$r->{out}");
}

ok($srv->alive, 'server still running');
$srv->stop_ok;


# --- TURN REST API credentials (use-auth-secret) -------------------------

$srv = TrtcTest::Turn->start(conf => <<'EOF');
realm=trtc.test
use-auth-secret
static-auth-secret=rest-secret-1
allow-loopback-peers
EOF

# uclient -W makes "EXPIRY:NAME" and its HMAC itself.
uclient_ok('udp, REST credentials', $srv, '-W', 'rest-secret-1',
           '-u', 'alice');
uclient_ok('tcp, REST credentials', $srv, '-W', 'rest-secret-1',
           '-u', 'alice', '-t');

ok($srv->alive, 'server still running');
$srv->stop_ok;

ok($peer->alive, 'turnutils_peer still running')
    or diag($peer->output);
$peer->stop;

done_testing;
