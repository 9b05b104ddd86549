package TrtcTest::Spool;

# Helpers of the trtc_logger_spool tests (t/330, t/340, t/350): one nginx
# (a TrtcTest::Nginx, master + workers) started until its replayer runs,
# t/ws/https_recorder.py as the upstream, spool directories and files.
# init() says where: servroot, the nginx, ports.
#
# The recorder writes $ready ("ready PORT PID", atomically) once it
# listens; its stdout and stderr go to logs/recorder.log.  No pipe: a
# "ready" read off a pipe proved nothing (see https_recorder.py).

use strict;
use warnings;

use Exporter 'import';
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Util qw(slurp alive);

our @EXPORT = qw(random_bytes dir_entries spool_files post records
                 header start_nginx start_upstream stop_upstream connects
                 upstream_state bail status_json);

my %c;             # init()'s settings
my $upstream_pid;

# init(dir => servroot, t => t/, nginx => a TrtcTest::Nginx,
#      port => nginx's port, up => the recorder's port, python => path,
#      certs => t/cert).  A failed wait_ok shows error.log's last lines.
sub init {
    %c = @_;
    $c{record} = "$c{dir}/record.jsonl";
    $c{control} = "$c{dir}/control";
    $c{ready} = "$c{dir}/recorder.ready";
    $c{reclog} = "$c{dir}/logs/recorder.log";
    $c{http} = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
    $TrtcTest::Util::Diag = sub {
        "error.log ends with:\n" . $c{nginx}->log_tail(5);
    };
    return \%c;
}

sub random_bytes {
    my $n = shift;
    return join '', map { chr int rand 256 } 1 .. $n;
}

sub dir_entries {
    my $d = shift;
    opendir my $dh, $d or die "$d: $!";
    my @e = grep { $_ ne '.' && $_ ne '..' } readdir $dh;
    closedir $dh;
    return @e;
}

sub spool_files {
    my @f = sort grep { /\.req$/ && !/^\./ } dir_entries(shift);
    return wantarray ? @f : scalar @f;
}

# post(uri, body [, method [, {header => value}]])
sub post {
    my ($uri, $body, $method, $headers) = @_;
    return $c{http}->request($method // 'POST',
                             "http://127.0.0.1:$c{port}$uri", {
        content => $body,
        headers => { 'content-type' => 'application/octet-stream',
                     %{ $headers // {} } },
    });
}

sub records {
    my @r;
    for my $l (split /\n/, slurp($c{record})) {
        push @r, decode_json($l);
    }
    return @r;
}

sub header {
    my ($rec, $name) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $name }
            @{ $rec->{headers} };
    return @v == 1 ? $v[0] : join(' | ', @v);
}

# The status page's JSON, from $uri on our nginx.
sub status_json {
    my $uri = shift;
    my $r = $c{http}->get("http://127.0.0.1:$c{port}$uri");
    return $r->{status} == 200 ? decode_json($r->{content}) : {};
}

# Starts the nginx; true once its master runs and, a moment later, its
# workers, the replaying worker 0 among them.
sub start_nginx {
    $c{nginx}->start or return 0;
    sleep 0.3;
    return 1;
}

# Ready = the file names this child and the port accepts a connection; a
# recorder that exits first, or is not ready in 20 s, is a BAIL_OUT with
# its log.
sub start_upstream {
    stop_upstream() or bail('the previous https recorder did not go away',
                            upstream_state());
    unlink $c{ready};
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        # no END blocks here: they would stop our nginx
        open STDIN, '<', '/dev/null' or POSIX::_exit(126);
        open STDOUT, '>>', $c{reclog} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec $c{python}, "$c{t}/ws/https_recorder.py", '--port', $c{up},
             '--cert', "$c{certs}/yun.test.crt",
             '--key', "$c{certs}/yun.test.key",
             '--record', $c{record}, '--control', $c{control},
             '--ready', $c{ready}, '--lifetime', 600
            or print STDERR "exec $c{python}: $!\n";
        POSIX::_exit(127);
    }
    $upstream_pid = $pid;
    my $deadline = time + 20;
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            my $st = $?;
            undef $upstream_pid;
            bail("the https recorder exited (wait status $st) before it was"
                 . " ready on port $c{up}",
                 "recorder.log:\n" . slurp($c{reclog}));
        }
        return 1 if slurp($c{ready}) =~ /^ready $c{up} $pid$/m
                    && connects($c{up});
        last if time > $deadline;
        sleep 0.05;
    }
    my $state = upstream_state();
    stop_upstream();
    bail("the https recorder was not ready on port $c{up} in 20 s", $state);
}

# BAIL_OUT's reason is one TAP line: the details go before it.
sub bail {
    my ($why, $details) = @_;
    diag($details);
    BAIL_OUT($why);
}

# TERM, then KILL after 5 s; reaped, and its port refused, before it
# returns true (bounded: 10 s in all).
sub stop_upstream {
    return 1 unless $upstream_pid;
    my $pid = $upstream_pid;
    kill 'TERM', $pid;
    my $deadline = time + 5;
    my $w;
    sleep 0.05 while ($w = waitpid($pid, WNOHANG)) == 0 && time < $deadline;
    if ($w == 0) {
        diag("the https recorder $pid ignored TERM for 5 s; killing it");
        kill 'KILL', $pid;
        $deadline = time + 5;
        sleep 0.05 while ($w = waitpid($pid, WNOHANG)) == 0
                         && time < $deadline;
    }
    return 0 if $w == 0;
    undef $upstream_pid;
    $deadline = time + 5;
    sleep 0.05 while connects($c{up}) && time < $deadline;
    return !connects($c{up});
}

sub connects {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => shift,
                                  Proto => 'tcp', Timeout => 2);
    return 0 unless $s;
    close $s;
    return 1;
}

sub upstream_state {
    my $pid = $upstream_pid // 'none';
    my $run = $upstream_pid && alive($upstream_pid) ? 'running'
                                                    : 'not running';
    return "recorder pid $pid ($run), port $c{up} "
           . (connects($c{up}) ? 'accepts' : 'refuses') . " connections,"
           . " ready file: '" . slurp($c{ready}) . "', recorder.log:\n"
           . slurp($c{reclog});
}

1;
