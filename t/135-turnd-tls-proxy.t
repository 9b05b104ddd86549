#!/usr/bin/perl

# TURN over TLS (tls-listening-port, cert, pkey) and the PROXY protocol
# (proxy-protocol-from) on turnd's TCP and TLS listeners:
#
#   - coturn's turnutils_uclient over TLS (-t -S), channels and Send;
#     openssl s_client: the chain verifies for yun.test, ALPN stun.turn
#     chosen when offered, none otherwise;
#   - a wrong name and an expired certificate: the client fails, turnd's
#     log says why (the client's alert; "has expired" at start);
#   - a TLS client that stalls, and a listed proxy that sends no header:
#     closed at handshake-timeout;
#   - a TLS stream a byte a write (handshake and records cut anywhere);
#   - a burst from a UDP peer: a TLS record a message, few write()s;
#   - 1,000 stalled handshakes from one source while another makes a
#     call;
#   - PROXY v1 and v2, over TCP and under TLS: XOR-MAPPED-ADDRESS and the
#     log name the client of the header; garbage instead of a header is
#     closed and counted; a header from an unlisted source is refused;
#   - SIGHUP with a key that does not match keeps the old pair;
#   - the counters (handshakes, failures, bad and refused PROXY headers)
#     in turnd's Prometheus metrics, as in its exit summary.

use strict;
use warnings;

use File::Copy qw(copy);
use File::Temp qw(tempdir);
use POSIX ();
use IO::Select;
use IO::Socket::INET;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Stun;
use TrtcTest::Turn;
use TrtcTest::Util qw(free_port fork_exec slurp stop_pid wait_for);

plan skip_all => 'turnd only (coturn has no PROXY protocol)'
    if TrtcTest::Turn::is_coturn();
for my $tool (qw(turnutils_uclient turnutils_peer openssl curl)) {
    plan skip_all => "$tool not installed"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my $CERTS = Cwd::abs_path('t/cert');
my $dir = tempdir('trtc-tls-XXXXXX', TMPDIR => 1, CLEANUP => 1);
copy("$CERTS/yun.test.crt", "$dir/cert.pem") or die $!;
copy("$CERTS/yun.test.key", "$dir/key.pem") or die $!;
my $CA = "$CERTS/ca.crt";
my %TLS = (SSL_ca_file => $CA, SSL_verifycn_name => 'yun.test',
           SSL_verifycn_scheme => 'default', SSL_alpn_protocols => ['stun.turn']);

my $peer_port = free_port(proto => 'udp');
my $peer = TrtcTest::Turn::spawn('turnutils_peer', '-L', '127.0.0.1',
                                 '-p', $peer_port);
sleep 0.3;

my $mport = TrtcTest::Turn::free_port(1, 20000, 39000, ['tcp']);
my $srv = TrtcTest::Turn->start(tls => 1, conf => <<"EOF");
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
allow-loopback-peers
cert=$dir/cert.pem
pkey=$dir/key.pem
handshake-timeout=2
proxy-protocol-from=127.0.0.3
proxy-protocol-from=127.0.0.32/30
prometheus
prometheus-port=$mport
EOF
my $TP = $srv->{tls_port};
ok($srv->wait_log(qr/listening on tls 127\.0\.0\.1:$TP/),
   'turnd listens on its tls-listening-port');


# --- real clients ---------------------------------------------------------

my ($N, $M, $L) = (30, 3, 200);
for my $mode (['channels'], ['Send indications', '-s']) {
    my ($name, @args) = @$mode;
    my $r = TrtcTest::Turn::run(60, 'turnutils_uclient', '-t', '-S',
        '-p', $TP, '-e', '127.0.0.1', '-r', $peer_port, '-n', $N, '-m', $M,
        '-l', $L, '-X', '-z', 5, '-u', 'alice', '-w', 'alice-pw', @args,
        '127.0.0.1');
    my ($sent, $recv) =
        $r->{out} =~ /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m;
    ok(!$r->{timed_out} && $r->{rc} == 0 && $r->{out} !~ /ERROR/
       && defined $sent && $sent >= $N * $M && $recv == $sent,
       "uclient over TLS, $name: $N x $M messages all came back")
        or diag("$r->{cmd}\n" . TrtcTest::Turn::tail($r->{out}, 15));
}

sub s_client {
    my (@args) = @_;
    return TrtcTest::Turn::run(10, '/bin/sh', '-c',
        'openssl s_client -connect 127.0.0.1:' . $TP
        . " -CAfile $CA @args </dev/null 2>&1");
}

{
    my $r = s_client('-verify_hostname yun.test -verify_return_error',
                     '-alpn stun.turn');
    like($r->{out}, qr/Verify return code: 0 \(ok\)/,
         's_client: the chain verifies for yun.test');
    like($r->{out}, qr/ALPN protocol: stun\.turn/,
         's_client: ALPN stun.turn chosen when offered');
    $r = s_client('-verify_hostname yun.test', '-alpn h2,http/1.1');
    like($r->{out}, qr/No ALPN negotiated/,
         's_client: HTTP protocols offered, none chosen');
    $r = s_client('-tls1_1');
    unlike($r->{out}, qr/Cipher is (?!\(NONE\))/,
           's_client: TLS 1.1 refused');
}

# a wrong name: the client gives up, turnd's log has its alert
{
    my $r = s_client('-verify_hostname other.test -verify_return_error');
    like($r->{out}, qr/Verify return code: 62|hostname mismatch/i,
         's_client: a name the certificate does not have fails');
    ok($srv->wait_log(qr/tls connection from tcp 127\.0\.0\.1:\d+ closed: tls handshake failed:.*alert/, 5),
       "turnd's log: the handshake failed on the client's alert");
}

# a TLS client that sends nothing, one that stops mid-ClientHello
for my $what (['nothing', ''], ['half a ClientHello',
                                "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"]) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $TP)
        or die $!;
    $s->syswrite($what->[1]) if length $what->[1];
    my $t0 = time;
    my $sel = IO::Select->new($s);
    my $eof = 0;
    if ($sel->can_read(6)) {
        my $n = sysread $s, my $buf, 100;
        $eof = !$n;
    }
    my $dt = time - $t0;
    ok($eof && $dt >= 0.9 && $dt < 4,
       sprintf("a TLS client that sends %s is dropped at the handshake "
               . "timeout (%.1f s)", $what->[0], $dt));
}
ok($srv->wait_log(qr/tls handshake not done within handshake-timeout/),
   "turnd's log: the handshake timed out");


# --- a TLS stream a byte a write -----------------------------------------

# Forwards client to turnd one byte a write (TCP_NODELAY, a pause between
# bytes now and then, so records and the handshake arrive in pieces).
sub byte_proxy {
    my $lsn = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Listen => 1, ReuseAddr => 1) or die $!;
    my $pid = fork // die;
    if ($pid == 0) {
        my $c = $lsn->accept or POSIX::_exit(1);
        my $u = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $TP) or POSIX::_exit(1);
        setsockopt($u, IPPROTO_TCP, TCP_NODELAY, 1);
        my $sel = IO::Select->new($c, $u);
        my $end = time + 20;
        while (time < $end) {
            for my $h ($sel->can_read(0.5)) {
                my $n = sysread $h, my $buf, 65536;
                POSIX::_exit(0) unless $n;
                if ($h == $u) { $c->syswrite($buf); next }
                for my $i (0 .. length($buf) - 1) {
                    $u->syswrite(substr $buf, $i, 1);
                    sleep 0.001 if $i % 64 == 0;
                }
            }
        }
        POSIX::_exit(0);     # no destructors: they are the parent's
    }
    return ($pid, $lsn->sockport);
}

{
    my ($pid, $port) = byte_proxy();
    my $ok = eval {
        my $c = TrtcTest::Stun->new(port => $port, proto => 'tcp',
                                    tls => \%TLS, timeout => 10,
                                    user => 'alice', pass => 'alice-pw');
        my $a = $c->allocate;
        die "Allocate: " . ($a->{code} // 'no answer') . "\n"
            unless ($a->{code} // 0) == 200;
        $c->channel_bind(0x4001, '127.0.0.1', $peer_port)->{code} == 200
            or die "ChannelBind\n";
        my $data = 'x' x 1000;
        $c->channel_data(0x4001, $data);
        my ($back) = $c->recv_data(5);
        die "no echo\n" unless defined $back && $back eq $data;
        1;
    };
    ok($ok, 'a TLS stream a byte a write: Allocate, ChannelBind, 1000 B '
       . 'echoed') or diag($@);
    kill 'KILL', $pid;
    waitpid $pid, 0;
}


# --- a burst to a TLS client: a record a message, few write()s ------------

# A UDP peer sends a burst of ChannelData-bound datagrams at once; turnd
# reads them in batches, and each batch must leave in one write() (strace
# counts the TLS application-data records written), a record a message
# (each SSL_read gives one record: one whole ChannelData message).
SKIP: {
    skip 'strace not installed', 2
        unless grep { -x "$_/strace" } split /:/, $ENV{PATH};
    my $n = 100;
    my $u = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1')
        or die $!;
    my $c = TrtcTest::Stun->new(port => $TP, proto => 'tcp', tls => \%TLS,
                                timeout => 5, user => 'alice',
                                pass => 'alice-pw');
    my $ok = ($c->allocate->{code} // 0) == 200
             && ($c->channel_bind(0x4005, '127.0.0.1', $u->sockport)->{code}
                 // 0) == 200;
    my $pid = $srv->server_pid;
    my $st = "$dir/strace.out";
    my $tracer = fork_exec("$dir/strace.log", 'strace',
        '-f', '-qq', '-s', '3', '-e', 'trace=write,sendmsg,sendto,writev',
        '-o', $st, '-p', $pid);
    # every thread traced before the burst
    wait_for(10, sub {
        my @t = glob "/proc/$pid/task/*/status";
        return @t == grep { slurp($_) =~ /^TracerPid:\s*[1-9]/m } @t;
    }) or $ok = 0;
    my $to = Socket::pack_sockaddr_in($c->{relay_port},
                                      Socket::inet_aton($c->{relay_ip}));
    # turnd stopped meanwhile: the whole burst waits in the relay socket
    # (whatever the machine's load), then goes in batches of up to 32
    kill 'STOP', $pid;
    wait_for(5, sub { slurp("/proc/$pid/stat") =~ /^\d+ \(.*\) [Tt]/s })
        or $ok = 0;
    $u->send(sprintf('burst %03d ', $_) . 'x' x 90, 0, $to) for 1 .. $n;
    kill 'CONT', $pid;

    my ($got, $whole, $buf) = (0, 0, '');
    my $sel = IO::Select->new($c->{sock});
    while ($got < $n && ($c->{sock}->pending || $sel->can_read(5))) {
        my $r = sysread $c->{sock}, $buf, 65536;
        last unless $r;
        my ($ch, $len) = unpack 'nn', $buf;
        $whole++ if $ch == 0x4005 && length $buf == 4 + $len + (-$len & 3)
                    && substr($buf, 4, $len) eq
                       sprintf('burst %03d ', $got + 1) . 'x' x 90;
        $got++;
    }
    stop_pid($tracer, signal => 'INT');
    my $writes = () = slurp($st)
                      =~ /(?:write|sendto|sendmsg)\(\d+, "\\27\\3\\3/g;
    ok($ok && $got == $n && $whole == $n,
       "a burst of $n over TLS: each message whole, in order, a record "
       . "each ($whole of $got)");
    ok($writes > 0 && $writes <= $n / 4,
       "... in $writes write()s, not one a record")
        or diag(slurp("$dir/strace.log"));
    $c->close;
}


# --- 1,000 stalled handshakes from one source ------------------------------

{
    my @stalled;
    for (1 .. 1000) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                      PeerPort => $TP, LocalAddr => '127.0.0.4',
                                      Blocking => 1) or last;
        $s->syswrite("\x16\x03\x01");      # a record header, no more
        push @stalled, $s;
    }
    is(scalar @stalled, 1000, '1,000 connections from 127.0.0.4 opened');
    my $t0 = time;
    my $ok = eval {
        my $c = TrtcTest::Stun->new(port => $TP, proto => 'tcp', tls => \%TLS,
                                    local => '127.0.0.5', timeout => 3,
                                    user => 'alice', pass => 'alice-pw');
        ($c->allocate->{code} // 0) == 200 or die "Allocate\n";
        $c->channel_bind(0x4002, '127.0.0.1', $peer_port)->{code} == 200
            or die "ChannelBind\n";
        for my $i (1 .. 20) {
            $c->channel_data(0x4002, "m$i");
            my ($b) = $c->recv_data(2);
            die "message $i not echoed\n" unless defined $b && $b eq "m$i";
        }
        1;
    };
    ok($ok, sprintf('meanwhile a client from 127.0.0.5 makes a call over '
                    . 'TLS (%.1f s)', time - $t0)) or diag($@);
    ok($srv->wait_log(qr/closed: max-unauth-tcp-per-ip reached/),
       'the per-source cap closed most of them at once');
    close $_ for @stalled;
}


# --- PROXY protocol --------------------------------------------------------

for my $case ([1, 'tcp'], [2, 'tcp'], [1, 'tls'], [2, 'tls']) {
    my ($v, $over) = @$case;
    my $sport = 40000 + $v * 10 + ($over eq 'tls');
    my $hdr = TrtcTest::Stun::proxy_header($v, '198.51.100.7', $sport,
                                           '203.0.113.1', 443);
    my $c = eval {
        TrtcTest::Stun->new(port => $over eq 'tls' ? $TP : $srv->port,
                            proto => 'tcp', local => '127.0.0.3',
                            proxy => $hdr,
                            $over eq 'tls' ? (tls => \%TLS) : (),
                            user => 'alice', pass => 'alice-pw');
    };
    my $r = $c ? $c->allocate : { code => undef };
    ok(($r->{code} // 0) == 200 && $c->{mapped_ip} eq '198.51.100.7'
       && $c->{mapped_port} == $sport,
       "PROXY v$v over $over from a listed source: XOR-MAPPED-ADDRESS is "
       . "the header's client")
        or diag("code " . ($r->{code} // 'none') . ", mapped "
                . ($c && $c->{mapped_ip} // '?') . ($@ ? ", $@" : ''));
    ok($srv->wait_log(qr/allocation created: user "alice" client tcp 198\.51\.100\.7:$sport /),
       "PROXY v$v over $over: turnd logs the header's client");
}

# a listed source without a header, with garbage, with a header too long
for my $bad (['nothing', ''], ['garbage', "GET / HTTP/1.1\r\n\r\n"],
             ['a STUN request', TrtcTest::Stun::encode('binding', 'request',
                                    TrtcTest::Stun::tid(), [])],
             ['a v1 header without CRLF', 'PROXY TCP4 ' . ('1' x 120)]) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $srv->port,
                                  LocalAddr => '127.0.0.34') or die $!;
    $s->syswrite($bad->[1]) if length $bad->[1];
    my $sel = IO::Select->new($s);
    my $t0 = time;
    my $eof = $sel->can_read(5) && !sysread($s, my $buf, 100);
    ok($eof, sprintf('listed source sending %s instead of a PROXY header: '
                     . 'closed (%.1f s)', $bad->[0], time - $t0));
}
ok($srv->wait_log(qr/closed: no PROXY protocol header/),
   "turnd's log: no PROXY protocol header");

# an unlisted source's header is not believed
{
    my $hdr = TrtcTest::Stun::proxy_header(1, '198.51.100.9', 1234,
                                           '203.0.113.1', 443);
    my $c = TrtcTest::Stun->new(port => $srv->port, proto => 'tcp',
                                local => '127.0.0.2', proxy => $hdr,
                                user => 'alice', pass => 'alice-pw');
    my $r = $c->allocate;
    ok(!defined $r->{code}, 'a PROXY header from an unlisted source: no '
       . 'answer, closed');
    ok($srv->wait_log(qr/tcp connection from tcp 127\.0\.0\.2:\d+ closed: a PROXY protocol header from a source not in proxy-protocol-from/),
       "turnd's log: the header was refused, the source is 127.0.0.2");
    unlike($srv->log, qr/198\.51\.100\.9/, 'the unlisted header\'s client '
           . 'appears nowhere');
}


# --- SIGHUP: a key that does not match keeps the old pair ------------------

{
    copy("$CERTS/wrong.key", "$dir/key.pem") or die $!;
    kill 'HUP', $srv->server_pid;
    ok($srv->wait_log(qr/SIGHUP: keeping the previous certificate and key/),
       'SIGHUP with a mismatched key: the old pair is kept');
    like($srv->log, qr/pkey \S+key\.pem: .*key values mismatch/,
         '... and the log says why');
    my $r = s_client('-verify_hostname yun.test -verify_return_error');
    like($r->{out}, qr/Verify return code: 0 \(ok\)/,
         '... and TLS clients still get the old certificate');
    copy("$CERTS/yun.test.key", "$dir/key.pem") or die $!;
    kill 'HUP', $srv->server_pid;
    ok($srv->wait_log(qr/SIGHUP: certificate \S+ and key \S+ reloaded/),
       'SIGHUP with a good pair: reloaded');
}

ok($srv->alive, 'turnd still running');

# the counters in the metrics, once every connection is closed (the
# stalled handshakes above end as their clients close them)
my %m;
for (1 .. 50) {
    my $body = TrtcTest::Turn::run(5, 'curl', '-s',
                                   "http://127.0.0.1:$mport/metrics")->{out};
    %m = $body =~ /^(turnd_\w+(?:\{\w+="\w+"\})?) (\d+)$/mg;
    last if ($m{turnd_tcp_connections} // -1) == 0;
    sleep 0.2;
}
my @tls = map { $m{qq(turnd_tls_handshakes_total{result="$_"})} }
              qw(done failed);
my @proxy = map { $m{qq(turnd_proxy_refused_total{reason="$_"})} }
                qw(invalid unlisted);
ok((grep { ($_ // 0) > 0 } @tls, @proxy) == 4,
   'metrics: tls handshakes done and failed, PROXY headers invalid and '
   . 'unlisted, each counted') or diag(explain(\%m));

$srv->stop_ok;
my $stats = qr/stats: (\d+) tls handshakes, (\d+) failed or timed out; ([1-9]\d*) connections without a valid PROXY header, ([1-9]\d*) PROXY headers from unlisted sources/;
like($srv->log, $stats,
     'the counters: handshakes, failures, bad and refused PROXY headers');
is_deeply([map { $_ // -1 } @tls, @proxy], [$srv->log =~ $stats],
          '... the same figures as the metrics');


# --- an expired certificate ------------------------------------------------

SKIP: {
    my $ex = "$dir/expired";
    mkdir $ex;
    my $x = TrtcTest::Turn::expired_cert($ex);
    skip "cannot make an expired certificate: $x->{error}", 3 if $x->{error};
    my $e = TrtcTest::Turn->start(tls => 1, conf => <<"EOF");
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
cert=$x->{cert}
pkey=$x->{key}
EOF
    ok($e->wait_log(qr/cert \S+leaf\.crt has expired/),
       'an expired certificate: turnd says so at start');
    my $r = TrtcTest::Turn::run(10, '/bin/sh', '-c',
        "openssl s_client -connect 127.0.0.1:$e->{tls_port} -CAfile "
        . "$x->{ca} -verify_return_error </dev/null 2>&1");
    like($r->{out}, qr/certificate has expired|Verify return code: 10/,
         'the client refuses it');
    ok($e->wait_log(qr/tls handshake failed:.*certificate expired/, 5),
       "turnd's log: the client's alert says the certificate expired");
    $e->stop_ok;
}

# --- relays that can reach their peers -------------------------------------

{
    # a loopback relay, loopback peers not allowed, one peer allowed by
    # address: turnd warns at start, and refuses that peer with 403
    # (nothing is sent: it would fail from 127.0.0.1 anyway)
    my $r = TrtcTest::Turn->start(conf => <<"EOF");
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
allowed-peer-ip=10.99.0.1
EOF
    ok($r->wait_log(qr/warn: the only relay address is loopback and loopback peers are not allowed/),
       'a loopback relay without allow-loopback-peers: warned at start');
    my $c = TrtcTest::Stun->new(port => $r->port, proto => 'tcp',
                                user => 'alice', pass => 'alice-pw');
    is($c->allocate->{code}, 200, 'Allocate on the loopback relay');
    is($c->create_permission('10.99.0.1', 9)->{code}, 403,
       'CreatePermission to a non-loopback peer from a loopback relay: 403');
    is($c->channel_bind(0x4001, '10.99.0.1', 9)->{code}, 403,
       'ChannelBind likewise: 403');
    $c->send_indication('10.99.0.1', 9, 'x');
    ok($r->wait_log(qr/Send to peer 10\.99\.0\.1:9 refused: relay 127\.0\.0\.1:\d+ is loopback/),
       'a Send indication likewise: refused, logged with the peer');
    $r->stop_ok;
}

SKIP: {
    # the relay of a proxied client follows the address the client
    # dialled (the header's destination), not the proxy's connection
    my ($host) = `ip -4 -o addr show scope global 2>/dev/null`
                 =~ /inet (\d+\.\d+\.\d+\.\d+)/;
    skip 'no global IPv4 address on this host', 3 unless $host;
    my $r = TrtcTest::Turn->start(conf => <<"EOF");
realm=trtc.test
lt-cred-mech
user=alice:alice-pw
allow-loopback-peers
relay-ip=$host
proxy-protocol-from=127.0.0.3
EOF
    my $c = TrtcTest::Stun->new(port => $r->port, proto => 'tcp',
        local => '127.0.0.3', user => 'alice', pass => 'alice-pw',
        proxy => TrtcTest::Stun::proxy_header(2, '198.51.100.8', 7000,
                                              $host, 443));
    $c->allocate;
    is($c->{relay_ip} // '', $host, "a proxied client that dialled $host "
       . 'is relayed from it, not from 127.0.0.1');
    $c = TrtcTest::Stun->new(port => $r->port, proto => 'tcp',
                             user => 'alice', pass => 'alice-pw');
    $c->allocate;
    is($c->{relay_ip} // '', '127.0.0.1', 'a direct client on 127.0.0.1: '
       . 'the loopback relay');
    $r->stop_ok;
}


$peer->stop;
done_testing;
