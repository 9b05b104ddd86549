package TrtcTest::Util;

# The small tools every plain Test::More file (and the helpers under
# t/lib/) needs, written once: files, polling, logs read from a mark,
# processes, and ports probed the way the test will bind them.
#
#   my $port = free_port();                     # TCP on 127.0.0.1
#   my $turn = free_port(proto => 'both');      # UDP and TCP
#   my $base = free_port(proto => 'udp', n => 100, range => [40000, 60000]);
#   write_file($path, $text);  my $text = slurp($path);
#   my $mark = log_mark($log); ...; like(log_since($log, $mark), qr/.../);
#   my $v = wait_for(5, sub { ... });           # the value, or false
#   wait_ok(sub { ... }, 'it happens', 5);      # the same as one test

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(free_port write_file slurp log_mark log_since
                    wait_for wait_ok alive fork_exec stop_pid);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

my %given;      # ports this process handed out already


# A port nothing is bound to on addr (127.0.0.1) for proto: 'tcp' (the
# default), 'udp' or 'both', and with n > 1 the n - 1 ports after it too.
# Each port is bound here as the test will bind it (TCP: a listener with
# SO_REUSEADDR, as nginx and turnd set it; UDP: a datagram socket), so a
# port taken for the protocol the test needs is never returned.  Ports
# are random in range ([20000, 32767] by default: below the kernel's
# ephemeral ports, which clients' connections take without asking) and
# never the same twice in one process.  Racy like every probe; dies if
# no port is found.
sub free_port {
    my (%o) = @_;
    my $proto = $o{proto} // 'tcp';
    my @protos = $proto eq 'both' ? qw(tcp udp) : ($proto);
    my $n = $o{n} // 1;
    my ($lo, $hi) = @{ $o{range} // [20000, 32767] };
    my $addr = $o{addr} // '127.0.0.1';

    die "free_port: proto is tcp, udp or both, not '$proto'\n"
        if grep { $_ ne 'tcp' && $_ ne 'udp' } @protos;
    die "free_port: range [$lo, $hi] holds fewer than $n ports\n"
        if $hi - $lo + 1 < $n;

    for (1 .. 1000) {
        my $p = $lo + int rand($hi - $lo + 2 - $n);
        next if grep { $given{$_} } $p .. $p + $n - 1;
        my @held;
      PORT:
        for my $q ($p .. $p + $n - 1) {
            for my $pr (@protos) {
                my $s = IO::Socket::INET->new(LocalAddr => $addr,
                    LocalPort => $q, Proto => $pr,
                    $pr eq 'tcp' ? (Listen => 1, ReuseAddr => 1) : ())
                    or last PORT;
                push @held, $s;
            }
        }
        next unless @held == $n * @protos;
        $given{$_} = 1 for $p .. $p + $n - 1;
        return $p;
    }
    die "free_port: no free $proto port on $addr in [$lo, $hi]\n";
}


# Written whole and renamed into place: a reader (nginx re-reading a
# file, a peer polling its control file) never sees half of it.
sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>', "$path.new" or die "$path.new: $!\n";
    binmode $fh;
    print $fh $data;
    close $fh or die "$path.new: $!\n";
    rename "$path.new", $path or die "rename $path.new: $!\n";
}

# The file's bytes; '' if it cannot be read.
sub slurp {
    my $path = shift;
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    return scalar(<$fh>) // '';
}


# A log's size now, to read what is written after it with log_since.
sub log_mark {
    return -s $_[0] || 0;
}

sub log_since {
    my ($path, $mark) = @_;
    my $text = slurp($path);
    return length $text > ($mark // 0) ? substr($text, $mark // 0) : '';
}


# Polls cond every 50 ms for up to secs seconds, then once more; returns
# its first true value, or its last false one.
sub wait_for {
    my ($secs, $cond) = @_;
    my $end = time + $secs;
    while (time < $end) {
        my $v = $cond->();
        return $v if $v;
        sleep 0.05;
    }
    return $cond->();
}

# wait_for as one test named name (secs: 5).  On failure it diags what
# why gives (a string or a sub returning one), or else what the file's
# $TrtcTest::Util::Diag gives (a sub: say, its error.log's last lines).
our $Diag;

sub wait_ok {
    my ($cond, $name, $secs, $why) = @_;
    my $ok = Test::More::ok(wait_for($secs // 5, $cond), $name);
    $why //= $Diag;
    Test::More::diag(ref $why ? $why->() : $why) if !$ok && defined $why;
    return $ok;
}


# Alive and not a zombie (kill 0 succeeds for a zombie that an init that
# does not reap, or a parent that has not yet, keeps).
sub alive {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    return slurp("/proc/$pid/stat") !~ /^\d+ \(.*\) Z/s;
}

# Starts cmd in a child of its own process group (so it and its children
# stop together), stdin /dev/null, stdout and stderr to the file out.
# out is a file name, or { out => FILE, append => 1 (keep what is
# there), journal => 1 (stderr passes for journald's stream:
# JOURNAL_STREAM is its dev:ino) }.  Returns the pid.
sub fork_exec {
    my ($o, @cmd) = @_;
    $o = { out => $o } unless ref $o;
    my $pid = fork // die "fork: $!\n";
    if ($pid == 0) {
        setpgrp 0, 0;
        open STDIN, '<', '/dev/null';
        open STDOUT, $o->{append} ? '>>' : '>', $o->{out}
            or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        if ($o->{journal}) {
            my @st = stat STDERR;
            $ENV{JOURNAL_STREAM} = "$st[0]:$st[1]";
        }
        { no warnings 'exec'; exec { $cmd[0] } @cmd; }
        print STDERR "exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

# Stops a process we started: signal (TERM) to pid, or to its group with
# group => 1; KILL after timeout (3) seconds.  A child of ours is reaped:
# returns { status (its wait status; undef for a process that is not our
# child), killed }.
sub stop_pid {
    my ($pid, %o) = @_;
    my $target = $o{group} ? -$pid : $pid;
    my $end = time + ($o{timeout} // 3);
    my $gone = sub {
        my $w = waitpid($pid, WNOHANG);
        return $w > 0 ? [$?] : $w < 0 && !alive($pid) ? [undef] : undef;
    };

    kill $o{signal} // 'TERM', $target;
    while (time < $end) {
        my $g = $gone->() or (sleep(0.02), next);
        return { status => $g->[0], killed => 0 };
    }
    kill 'KILL', $target;
    return { status => waitpid($pid, 0) > 0 ? $? : undef, killed => 1 };
}

1;
