package TrtcTest::Spool;

# Helpers of the trtc_logger_spool tests (t/330, t/340, t/350): one nginx
# (master + workers, daemon) started and stopped by the pid in its own pid
# file, t/ws/https_recorder.py as the upstream, spool directories, files
# and polling.  init() says where: servroot, nginx.conf, ports.
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

our @EXPORT = qw(free_port random_bytes write_file slurp log_text log_size
                 log_since tail_log dir_entries spool_files post records
                 header wait_for nginx_pid alive start_nginx stop_nginx
                 start_upstream stop_upstream connects upstream_state bail
                 status_json);

my %c;             # init()'s settings
my $upstream_pid;

# init(dir => servroot, t => t/, nginx => [argv], port => nginx's port,
#      up => the recorder's port, python => path, certs => t/cert)
sub init {
    %c = @_;
    $c{log} = "$c{dir}/logs/error.log";
    $c{record} = "$c{dir}/record.jsonl";
    $c{control} = "$c{dir}/control";
    $c{ready} = "$c{dir}/recorder.ready";
    $c{reclog} = "$c{dir}/logs/recorder.log";
    $c{http} = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
    return \%c;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, Proto => 'tcp')
        or die "socket: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub random_bytes {
    my $n = shift;
    return join '', map { chr int rand 256 } 1 .. $n;
}

sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>', "$path.new" or die "$path.new: $!";
    binmode $fh;
    print $fh $data;
    close $fh or die "$path.new: $!";
    rename "$path.new", $path or die "rename $path: $!";
}

sub slurp {
    my $path = shift;
    open my $fh, '<', $path or return '';
    binmode $fh;
    local $/;
    return scalar(<$fh>) // '';
}

sub log_text { slurp($c{log}) }
sub log_size { -s $c{log} || 0 }
sub log_since { substr(log_text(), shift) }
sub tail_log { join '', grep { defined } (split /^/, log_text())[-5 .. -1] }

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

# Polls $cond for up to $max seconds (default 10); one subtest.
sub wait_for {
    my ($cond, $what, $max) = @_;
    my $deadline = time + ($max // 10);
    while (time < $deadline) {
        return pass($what) if $cond->();
        sleep 0.1;
    }
    return ok($cond->(), $what) || diag("error.log ends with:\n"
                                        . tail_log());
}

sub nginx_pid {
    return undef unless $c{dir};
    my $p = slurp("$c{dir}/logs/nginx.pid");
    return $p =~ /^(\d+)$/m ? $1 : undef;
}

sub alive {
    my $pid = shift;
    return 0 unless $pid && kill 0, $pid;
    return slurp("/proc/$pid/stat") !~ /^\d+ \(.*\) Z/s;
}

sub start_nginx {
    return 0 if system(@{ $c{nginx} }) != 0;
    my $deadline = time + 5;
    sleep 0.05 until nginx_pid() || time > $deadline;
    # the replaying worker 0 is up once the workers are
    sleep 0.3;
    return !!nginx_pid();
}

# QUIT, then KILL after 10 s; by the pid in our own pid file only.
sub stop_nginx {
    my $pid = nginx_pid();
    return 1 unless alive($pid);
    kill 'QUIT', $pid;
    my $deadline = time + 10;
    sleep 0.05 while alive($pid) && time < $deadline;
    return 1 unless alive($pid);
    diag("nginx $pid did not quit in 10 s; killing it");
    kill 'KILL', $pid;
    return 0;
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
