package TrtcTest::Offload;

# Two network namespaces joined by one veth pair, for turnd's
# kernel-offload (t/180): "s" runs turnd, whose TC program sits on its end
# of the pair; "c" holds the clients and the peers.  Private addresses
# only (10.218.0.0/24, fd00:218::/64), no route out.  The test process
# itself moves into "c" (setns), so its sockets are the clients'.  Both
# namespaces are removed at exit, also on failure or a signal.
#
#   my $net = TrtcTest::Offload->new;        # dies when it cannot
#   $net->csum('full');                      # or 'partial', see csum
#   my $srv = $net->turnd(conf => "...");    # in "s", offload on
#   my %m = $net->metrics;                   # turnd's Prometheus metrics
#   my @e = $net->mappings($srv);            # its map, from bpftool

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Test::More ();

use TrtcTest::Stun;
use TrtcTest::Turn;
use TrtcTest::Util qw(fork_exec stop_pid write_file slurp);

our %ADDR = (4 => ['10.218.0.1', '10.218.0.2'],
             6 => ['fd00:218::1', 'fd00:218::2']);
our $PORT = 3478;
our $CLIENTS = '10.218.16.0/20';
our $METRICS = 9641;
our $CLONE_NEWNET = 0x40000000;

my @LIVE;

sub _cleanup_all { $_->cleanup for @LIVE; @LIVE = () }
END { local ($?, $@); _cleanup_all() }
$SIG{INT} = $SIG{TERM} = sub { _cleanup_all(); exit 130 };


# undef, or why the test cannot run here
sub need {
    return 'needs root (ip netns, bpf)' if $>;
    for my $tool (qw(ip ethtool bpftool setpriv)) {
        return "$tool not installed"
            unless grep { -x "$_/$tool" } split /:/, "$ENV{PATH}:/usr/sbin";
    }
    return 'build/turnd not built (make turnd)'
        unless -x TrtcTest::Turn::binary();
    return undef;
}


sub sh {
    my @cmd = @_;
    system(@cmd) == 0 or die "@cmd: exit " . ($? >> 8) . "\n";
}


sub new {
    my ($class) = @_;
    my $p = "tdo$$";
    my $self = bless { s => "$p-s", c => "$p-c", ifs => "$p-s",
                       ifc => "$p-c", servers => [],
                       dir => tempdir('trtc-offload-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1) }, $class;
    push @LIVE, $self;
    chmod 0755, $self->{dir};

    sh('ip', 'netns', 'add', $self->{s});
    $self->{made} = 1;
    sh('ip', 'netns', 'add', $self->{c});
    sh('ip', 'link', 'add', $self->{ifs}, 'netns', $self->{s}, 'type',
       'veth', 'peer', 'name', $self->{ifc}, 'netns', $self->{c});

    for my $side (['s', 'ifs', 0], ['c', 'ifc', 1]) {
        my ($ns, $if, $i) = ($self->{$side->[0]}, $self->{$side->[1]},
                             $side->[2]);
        sh('ip', '-n', $ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', $ns, 'addr', 'add', "$ADDR{4}[$i]/24", 'dev', $if);
        sh('ip', '-n', $ns, 'addr', 'add', "$ADDR{6}[$i]/64", 'dev', $if,
           'nodad');
        sh('ip', '-n', $ns, 'link', 'set', $if, 'up');
    }

    # bench/turnload's clients: 4096 addresses from $CLIENTS up, local in
    # "c" (as 127/8 is on loopback), routed there from "s"
    sh('ip', '-n', $self->{c}, 'route', 'add', 'local', $CLIENTS, 'dev', 'lo');
    sh('ip', '-n', $self->{s}, 'route', 'add', $CLIENTS, 'via', $ADDR{4}[1]);

    # Chromium gathers host candidates only on the interface of its default
    # route: "c" routes everything to "s", which forwards nothing (a new
    # namespace does not) and has no route beyond 10.218.0.0/24, so
    # nothing leaves the pair
    sh('ip', '-n', $self->{c}, 'route', 'add', 'default', 'via', $ADDR{4}[0]);
    sh('ip', '-n', $self->{c}, '-6', 'route', 'add', 'default', 'via',
       $ADDR{6}[0]);

    # from here on this process (and what it starts) is in "c"
    open my $fh, '<', "/run/netns/$self->{c}" or die "netns $self->{c}: $!";
    require 'syscall.ph';
    syscall(&SYS_setns, fileno($fh), $CLONE_NEWNET) == 0
        or die "setns: $!";
    $self->{nsfh} = $fh;

    return $self;
}


# Where UDP checksums are completed, so that "c" verifies each one it
# receives: 'full': "c" sends them whole (its tx offload off), and the
# program updates them; 'partial': "c" leaves them to the device (veth
# passes them on partial, as from a container), the program updates the
# pseudo-header part, and "s" completes them in software on the way out.
sub csum {
    my ($self, $mode) = @_;
    for (['c', 'ifc', 'off'], ['s', 'ifs', 'on']) {
        my ($ns, $if, $tx) = @$_;
        $tx = $tx eq 'on' ? 'off' : 'on' if $mode ne 'full';
        TrtcTest::Turn::run(10, 'ip', 'netns', 'exec', $self->{$ns},
                            'ethtool', '-K', $self->{$if}, 'tx', $tx)->{rc}
            == 0 or die "ethtool -K $self->{$if} tx $tx failed\n";
    }
}


# UDP datagrams "c" dropped on a bad checksum, IPv4 and IPv6
sub csum_errors {
    my $n = 0;
    for my $f ('/proc/net/snmp', '/proc/net/snmp6') {
        open my $fh, '<', $f or next;
        my @l = <$fh>;
        if ($f =~ /6$/) {
            for (@l) { $n += $1 if /^Udp6InCsumErrors\s+(\d+)/ }
            next;
        }
        my ($h, $v) = grep { /^Udp:/ } @l;
        my @h = split ' ', $h;
        my @v = split ' ', $v;
        for my $i (0 .. $#h) { $n += $v[$i] if $h[$i] eq 'InCsumErrors' }
    }
    return $n;
}


# Starts turnd in "s" on both addresses.  Options: conf (more lines),
# unprivileged (as nobody, no capabilities), offload ('on').
sub turnd {
    my ($self, %o) = @_;
    my $n = @{$self->{servers}};
    my $dir = "$self->{dir}/turnd$n";
    mkdir $dir;
    chmod 0777, $dir;
    my $conf = join "\n",
        "listening-ip=$ADDR{4}[0]", "listening-ip=$ADDR{6}[0]",
        "listening-port=$PORT", "min-port=50000", "max-port=50999",
        "realm=trtc.test", "lt-cred-mech", "user=u:p", "no-tls",
        "allowed-peer-ip=$ADDR{4}[1]", "allowed-peer-ip=$ADDR{6}[1]",
        "log-file=$dir/turnd.log", "verbose",
        "prometheus", "prometheus-address=$ADDR{4}[0]",
        "prometheus-port=$METRICS",
        "kernel-offload=" . ($o{offload} // 'on'), $o{conf} // '', '';
    write_file("$dir/turnd.conf", $conf);

    my @cmd = (TrtcTest::Turn::binary(), '-c', "$dir/turnd.conf");
    unshift @cmd, 'setpriv', '--reuid=65534', '--regid=65534',
        '--clear-groups', '--inh-caps=-all', '--bounding-set=-all'
        if $o{unprivileged};
    my $srv = { dir => $dir, log => "$dir/turnd.log", conf => $conf,
                pid => fork_exec("$dir/out", 'ip', 'netns',
                                                  'exec', $self->{s}, @cmd) };
    push @{$self->{servers}}, $srv;

    my $end = time + 10;
    while (time < $end) {
        die "turnd exited:\n" . $self->log($srv) unless $self->alive($srv);
        my $r = eval {
            TrtcTest::Stun->new(host => $ADDR{4}[0], port => $PORT,
                                timeout => 0.3)->binding;
        };
        return $srv if $r && ($r->{code} // 0) == 200;
        sleep 0.1;
    }
    die "turnd did not answer within 10 s:\n" . $self->log($srv);
}


sub alive {
    my ($self, $srv) = @_;
    return 0 unless $srv->{pid};
    return 1 if waitpid($srv->{pid}, WNOHANG) == 0;
    $srv->{status} = $?;
    delete $srv->{pid};
    return 0;
}


sub log {
    my ($self, $srv) = @_;
    return join '', map { slurp($_) } $srv->{log}, "$srv->{dir}/out";
}


# TERM (KILL with kill => 1); returns the wait status
sub stop {
    my ($self, $srv, %o) = @_;
    return $srv->{status} unless $srv->{pid};
    if ($o{kill}) {
        kill 'KILL', $srv->{pid};
        waitpid $srv->{pid}, 0;
        $srv->{status} = $?;
    } else {
        $srv->{status} = stop_pid($srv->{pid}, timeout => 5)->{status};
    }
    delete $srv->{pid};
    return $srv->{status};
}


# stop, as a test: turnd ends on SIGTERM with status 0 and its log holds
# no sanitizer report (TRTC_TEST_TURND=build/asan/turnd)
sub stop_ok {
    my ($self, $srv, $name) = @_;
    my $st = $self->stop($srv) // -1;
    my ($san) = $self->log($srv) =~ /(\S*Sanitizer\b.*|runtime error:.*)/;
    Test::More::ok($st == 0 && !$san,
                   "$name: turnd stopped cleanly, no sanitizer report")
        or Test::More::diag("status $st" . ($san ? "; $san" : ''));
}


# turnd's metrics: { 'name{labels}' => value }
sub metrics {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => $ADDR{4}[0],
                                  PeerPort => $METRICS, Timeout => 2)
        or return ();
    print $s "GET /metrics HTTP/1.0\r\nHost: x\r\n\r\n";
    local $/;
    my $body = <$s> // '';
    my %m;
    $m{$1} = $2 while $body =~ /^(turnd_\S+)\s+(\d+)\s*$/mg;
    return %m;
}


# The relayed datagrams both ways: (all, by the program) as turnd counts
sub relayed {
    my ($self) = @_;
    my %m = $self->metrics;
    my %r;
    for my $d (qw(to_peer from_peer)) {
        $r{$d} = $m{"turnd_relayed_packets_total{direction=\"$d\"}"} // -1;
        $r{"offload_$d"} =
            $m{"turnd_offload_packets_total{direction=\"$d\"}"} // -1;
    }
    return \%r;
}


# The ids of turnd's program and map (the hash one), from the file
# descriptors that hold them (/proc/PID/fdinfo): () when none.
sub bpf_ids {
    my ($self, $pid) = @_;
    my %ids;
    for my $f (glob "/proc/$pid/fdinfo/*") {
        open my $fh, '<', $f or next;
        local $/;
        my $t = <$fh> // '';
        $ids{prog} = $1 if $t =~ /^prog_id:\s+(\d+)/m && $t !~ /^link_id/m;
        my ($type) = $t =~ /^map_type:\s+(\d+)/m;
        $ids{map} = $1 if ($type // 0) == 1 && $t =~ /^map_id:\s+(\d+)/m;
    }
    return %ids;
}


# The entries of a map by id: [{ key => [...], value => {...} }]; undef
# when the map is gone.
sub map_dump {
    my ($self, $id) = @_;
    my $r = TrtcTest::Turn::run(10, 'bpftool', '-j', 'map', 'dump', 'id',
                                $id);
    return undef if $r->{rc} != 0;
    return eval { decode_json($r->{out}) } || [];
}


# bench/turnload built into the test's directory (once); undef when it
# does not build
sub turnload {
    my ($self) = @_;
    my $bin = "$self->{dir}/turnload";
    return $bin if -x $bin;
    my $root = abs_path(dirname(__FILE__) . '/../../..');
    my $r = TrtcTest::Turn::run(120, 'gcc', '-std=gnu11', '-D_GNU_SOURCE',
        '-O2', "-I$root/common", '-o', $bin, "$root/bench/turnload.c",
        "$root/common/trtc_stun.c", "$root/common/trtc_crypto.c",
        '-lssl', '-lcrypto', '-lz');
    Test::More::diag("turnload: $r->{out}") if $r->{rc} != 0;
    return $r->{rc} == 0 ? $bin : undef;
}


sub cleanup {
    my ($self) = @_;
    for my $srv (@{$self->{servers}}) {
        $self->stop($srv, kill => 1) if $srv->{pid};
    }
    if ($self->{made}) {
        system('ip', 'netns', 'del', $self->{$_}) for qw(s c);
        delete $self->{made};
    }
}

1;
