#!/usr/bin/perl

# turnd as a service: --help, --version, --check-config (exit 0, or 78
# with FILE:LINE for each kind of error), a locked pidfile, a metrics port
# already taken (exit 1, clear message), proc-user/proc-group (root
# dropped after binding, as root only), sd_notify states on a socket the
# test listens on, journald's "<N>" priorities on stderr, and the
# Prometheus metrics of real traffic (coturn's turnutils_uclient through
# turnd) checked with `promtool check metrics`.

use strict;
use warnings;

use File::Temp qw(tempdir);
use IO::Socket::INET;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);
use Time::HiRes qw(time sleep);
use Test::More;

use TrtcTest::Turn;
use TrtcTest::Util qw(free_port);

plan skip_all => 'tests turnd itself' if TrtcTest::Turn::is_coturn();

for my $tool (qw(turnutils_uclient turnutils_peer promtool curl)) {
    plan skip_all => "$tool not installed (make deps-test)"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my $BIN = TrtcTest::Turn::binary();
my $dir = tempdir('trtc-150-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;
chmod 0755, $dir;           # the notify socket, for proc-user nobody

sub conf_file {
    my ($text) = @_;
    my $f = "$dir/c" . $n++ . ".conf";
    open my $fh, '>', $f or die "$f: $!";
    print $fh $text;
    close $fh;
    return $f;
}

sub turnd { return TrtcTest::Turn::run(10, $BIN, @_) }


# --- --help, --version ------------------------------------------------

{
    my $r = turnd('--help');
    ok($r->{rc} == 0 && $r->{out} =~ /--check-config/
       && $r->{out} =~ /78 configuration error/,
       '--help: exit 0, lists --check-config and the exit codes')
        or diag($r->{out});

    $r = turnd('--version');
    ok($r->{rc} == 0 && $r->{out} =~ /^turnd \d+\.\d+\.\d+$/m,
       '--version: exit 0, "turnd X.Y.Z"') or diag($r->{out});
}


# --- --check-config ---------------------------------------------------

{
    my $good = conf_file("listening-ip=127.0.0.1\nrealm=r\nuser=u:p\n"
                         . "prometheus\nsyslog\n");
    my $r = turnd('-c', $good, '--check-config');
    ok($r->{rc} == 0 && $r->{out} =~ /\Q$good\E test is successful/,
       '--check-config on a good file: exit 0, "test is successful"')
        or diag("rc=$r->{rc}\n$r->{out}");

    my @bad = (
        [ 'a number out of range', "realm=r\nlistening-port=70000\n",
          qr/:2: invalid value "70000" for "listening-port"/ ],
        [ 'not an address', "listening-ip=1.2.3\n",
          qr/:1: invalid value "1\.2\.3" for "listening-ip"/ ],
        [ 'a missing value', "realm=r\n\nmin-port\n",
          qr/:3: missing value for "min-port"/ ],
        [ 'a bad flag value', "verbose=maybe\n",
          qr/:1: invalid value "maybe" for "verbose"/ ],
        [ 'min-port above max-port', "min-port=50000\nmax-port=40000\n",
          qr/:1: invalid value "50000" for "min-port": .* set at \S+:2/ ],
        [ 'proc-user naming a missing user',
          "realm=r\nproc-user=no-such-user-trtc\n",
          qr/:2: invalid value "no-such-user-trtc" for "proc-user": /
          . qr/no such user/ ],
        [ 'proc-group naming a missing group',
          "proc-group=no-such-group-trtc\n",
          qr/:1: invalid value "no-such-group-trtc" for "proc-group": /
          . qr/no such group/ ],
        [ 'a bad syslog-facility', "syslog-facility=kern9\n",
          qr/:1: invalid value "kern9" for "syslog-facility"/ ],
        [ 'a bad prometheus-port', "prometheus-port=0\n",
          qr/:1: invalid value "0" for "prometheus-port"/ ],
        [ 'a bad prometheus-address', "prometheus-address=localhost\n",
          qr/:1: invalid value "localhost" for "prometheus-address"/ ],
        [ 'a missing credentials file',
          "credentials-file=$dir/no-such-file\n",
          qr/credentials not loaded: \Q$dir\E\/no-such-file: cannot open/ ],
    );

    for my $b (@bad) {
        my ($what, $text, $re) = @$b;
        my $f = conf_file($text);
        $r = turnd('-c', $f, '--check-config');
        ok($r->{rc} == 78 && $r->{out} =~ /\Q$f\E/ && $r->{out} =~ $re,
           "--check-config, $what: exit 78, names file and line")
            or diag("rc=$r->{rc}\n$r->{out}");
    }

    $r = turnd('--check-config', '--no-such-option');
    ok($r->{rc} == 78 && $r->{out} =~ /command line: unknown option/,
       '--check-config, an unknown option: exit 78')
        or diag("rc=$r->{rc}\n$r->{out}");

    # a start (not a check) with a broken file: the same code, nothing bound
    my $f = conf_file("listening-ip=127.0.0.1\nlistening-port=70000\n");
    $r = turnd('-c', $f);
    ok($r->{rc} == 78 && $r->{out} =~ /\Q$f\E:2: invalid value/,
       'a start with a broken file exits 78 (systemd: no restart loop)')
        or diag("rc=$r->{rc}\n$r->{out}");
}


# --- the running server ---------------------------------------------------

my $root = ($> == 0 && getpwnam('nobody') && getgrnam('nogroup'));
my $mport = free_port();
my $sock_path = "$dir/notify.sock";
my $notify = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $sock_path)
    or die "$sock_path: $!";
chmod 0777, $sock_path;     # proc-user nobody sends to it

my $peer_port = free_port(proto => 'udp');
my $peer = TrtcTest::Turn::spawn('turnutils_peer', '-L', '127.0.0.1',
                                 '-p', $peer_port);

my $srv = TrtcTest::Turn->start(
    env => { NOTIFY_SOCKET => $sock_path },
    journal => 1,
    conf => "realm=trtc.test\nlt-cred-mech\nuser=turn:turn-pw\n"
            . "allow-loopback-peers\nrelay-threads=2\n"
            . "prometheus\nprometheus-port=$mport\n"
            . ($root ? "proc-user=nobody\nproc-group=nogroup\n" : ''));

# the states sd_notify(3) sent, until $want or the timeout
sub notified {
    my ($want, $secs) = @_;
    my ($got, $end) = ('', time + $secs);
    $notify->blocking(0);
    while (time < $end) {
        my $buf;
        if (defined $notify->recv($buf, 4096)) {
            $got .= "$buf\n";
            return $got if $got =~ $want;
            next;
        }
        sleep 0.05;
    }
    return $got;
}

like(notified(qr/READY=1/, 5), qr/READY=1/, 'sd_notify: READY=1');

SKIP: {
    skip 'proc-user needs root and the user nobody', 2 unless $root;
    open my $fh, '<', "/proc/$srv->{pid}/status" or die $!;
    my $st = do { local $/; <$fh> };
    my $uid = getpwnam('nobody');
    my $gid = getgrnam('nogroup');
    like($st, qr/^Uid:\s+$uid\s+$uid\s+$uid\s+$uid$/m,
         'proc-user: every uid is nobody after binding');
    like($st, qr/^Gid:\s+$gid\s+$gid\s+$gid\s+$gid$/m,
         'proc-group: every gid is nogroup');
}

# traffic: allocations over UDP and TCP, data both ways, a wrong password
my @uc = ('turnutils_uclient', '-p', $srv->port, '-e', '127.0.0.1',
          '-r', $peer_port, '-n', 20, '-m', 1, '-l', 100, '-X', '-z', 5);
sub relayed {
    my ($r) = @_;
    my ($sent, $recv) =
        $r->{out} =~ /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m;
    return !$r->{timed_out} && $r->{rc} == 0 && defined $sent
           && $sent >= 20 && $recv == $sent;
}

my $r = TrtcTest::Turn::run(30, @uc, '-u', 'turn', '-w', 'turn-pw',
                            '127.0.0.1');
ok(relayed($r),
   'a relay over UDP through turnd' . ($root ? ' (as nobody)' : ''))
    or diag(TrtcTest::Turn::tail($r->{out}, 20));

$r = TrtcTest::Turn::run(30, @uc, '-t', '-u', 'turn', '-w', 'turn-pw',
                         '127.0.0.1');
ok(relayed($r), 'a relay over TCP through turnd')
    or diag(TrtcTest::Turn::tail($r->{out}, 20));

$r = TrtcTest::Turn::run(30, @uc, '-u', 'turn', '-w', 'wrong',
                         '127.0.0.1');
ok($r->{rc} != 0, 'a wrong password is refused');

# the scrape
my $scrape = TrtcTest::Turn::run(10, 'curl', '-s', '-D', '-',
                                 "http://127.0.0.1:$mport/metrics");
my ($head, $body) = split /\r\n\r\n/, $scrape->{out}, 2;
$body //= '';
like($head, qr{^Content-Type: text/plain; version=0\.0\.4; charset=utf-8}mi,
     'metrics: text format 0.0.4, utf-8');

my $mfile = "$dir/metrics.txt";
{
    open my $fh, '>', $mfile or die $!;
    print $fh $body;
}
$r = TrtcTest::Turn::run(10, 'sh', '-c', "promtool check metrics < $mfile");
ok($r->{rc} == 0, 'promtool check metrics: no problem')
    or diag("rc=$r->{rc}\n$r->{out}");

sub metric {
    my ($name) = @_;
    my ($v) = $body =~ /^\Q$name\E (\S+)$/m;
    return $v;
}

ok((metric('turnd_allocations_created_total{transport="udp"}') // 0) >= 1
   && (metric('turnd_allocations_created_total{transport="tcp"}') // 0) >= 1,
   'metrics: allocations created, by transport')
    or diag($body);
ok((metric('turnd_relayed_packets_total{direction="to_peer"}') // 0) >= 40
   && (metric('turnd_relayed_packets_total{direction="from_peer"}') // 0)
      >= 40
   && (metric('turnd_relayed_bytes_total{direction="to_peer"}') // 0)
      >= 4000,
   'metrics: packets and bytes relayed each way');
ok((metric('turnd_auth_failures_total{reason="wrong_password"}') // 0) >= 1
   && (metric('turnd_auth_failures_total{reason="no_credentials"}') // 0)
      >= 2,
   'metrics: authentication failures by reason');
ok((metric('turnd_tcp_connections_accepted_total') // 0) >= 1,
   'metrics: TCP connections');
{
    my $used = metric('turnd_relay_ports{state="in_use"}') // -1;
    my $free = metric('turnd_relay_ports{state="free"}') // -1;
    is($used + $free, $srv->{relay_max} - $srv->{relay_min} + 1,
       'metrics: relay ports in use and free add up to the range');
}
ok(defined metric('turnd_thread_busy_ratio{thread="0"}')
   && defined metric('turnd_thread_busy_ratio{thread="1"}')
   && defined metric('turnd_thread_cpu_seconds_total{thread="1"}'),
   'metrics: a busy ratio per relay thread');
like($body, qr/^turnd_build_info\{version="[^"]+"\} 1$/m,
     'metrics: turnd_build_info');

$r = TrtcTest::Turn::run(10, 'curl', '-s', '-o', '/dev/null', '-w',
                         '%{http_code}', "http://127.0.0.1:$mport/nothing");
is($r->{out}, '404', 'metrics: another path is a 404');

# a metrics port already taken: a clear error, exit 1, nothing left behind
{
    my $f = conf_file(
        "listening-ip=127.0.0.1\nlistening-port="
        . free_port(proto => 'both') . "\nrelay-ip=127.0.0.1\n"
        . "realm=r\nuser=u:p\nprometheus\nprometheus-port=$mport\n");
    $r = turnd('-c', $f);
    ok($r->{rc} == 1 && $r->{out} =~ /metrics: cannot listen on /
       && $r->{out} =~ /127\.0\.0\.1:$mport: Address already in use/,
       'a metrics port already taken: exit 1, says which and why')
        or diag("rc=$r->{rc}\n$r->{out}");
}

# the pidfile is locked: a second turnd on it refuses before binding
{
    $r = turnd('-c', "$srv->{dir}/server.conf");
    ok($r->{rc} == 1
       && $r->{out} =~ /is locked: turnd is already running /
       && $r->{out} =~ /\(pid $srv->{pid}\)/,
       'a second turnd on the same pidfile: exit 1, names the pid')
        or diag("rc=$r->{rc}\n$r->{out}");
    open my $fh, '<', "$srv->{dir}/server.pid";
    is(scalar(<$fh>) // '', "$srv->{pid}\n",
       'the pidfile still holds the running pid');
}

# SIGHUP: RELOADING=1, then READY=1 again
kill 'HUP', $srv->{pid};
like(notified(qr/RELOADING=1.*\n.*READY=1/s, 5),
     qr/RELOADING=1.*\n.*READY=1/s,
     'sd_notify: SIGHUP is RELOADING=1, READY=1');

$srv->stop_ok;
like(notified(qr/STOPPING=1/, 2), qr/STOPPING=1/, 'sd_notify: STOPPING=1');

# stderr as journald's stream: "<N>text", no timestamp of our own
{
    open my $fh, '<', $srv->{out} or die $!;
    my $err = do { local $/; <$fh> };
    ok($err =~ /^<5>turnd ready$/m && $err !~ /^\d{4}-\d\d-\d\dT/m,
       'journald: stderr lines carry "<N>" priorities, no timestamp')
        or diag($err);
}

# syslog: /dev/log is a socket of this test, in a mount namespace of
# turnd's own (this machine may run no syslog daemon at all)
SKIP: {
    skip 'syslog test: needs root for a mount namespace', 2
        unless $> == 0 && system('unshare -m true 2>/dev/null') == 0;

    my $log_path = "$dir/log.sock";
    my $log = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $log_path)
        or die "$log_path: $!";
    my $port = free_port(proto => 'both');
    my $f = conf_file("listening-ip=127.0.0.1\nlistening-port=$port\n"
                      . "relay-ip=127.0.0.1\nrealm=r\nuser=u:p\n"
                      . "syslog\nsyslog-facility=local3\n");
    my $p = TrtcTest::Turn::spawn('unshare', '-m', 'sh', '-c',
        "mount -t tmpfs trtc150 /dev && ln -s $log_path /dev/log"
        . " && exec $BIN -c $f");
    my ($got, $end) = ('', time + 5);
    $log->blocking(0);
    while (time < $end && $got !~ /turnd ready/) {
        my $buf;
        if (defined $log->recv($buf, 4096)) {
            $got .= "$buf\n";
            next;
        }
        sleep 0.05;
    }
    $p->stop;
    # local3 (19) * 8 + notice (5) = 157
    like($got, qr/^<157>.*turnd\[\d+\]: notice: turnd ready$/m,
         'syslog: lines reach /dev/log with facility local3, priority notice')
        or diag($p->output);
    unlike($got, qr/^<157>.*\d{4}-\d\d-\d\dT/m,
           'syslog: no timestamp of our own in the message');
    unlink $log_path;
}

$peer->stop;
unlink $sock_path;

done_testing;
