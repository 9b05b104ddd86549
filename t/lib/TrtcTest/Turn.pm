package TrtcTest::Turn;

# Runs the TURN server under test: build/turnd by default, coturn's
# turnserver with TRTC_TEST_TURN_SERVER=coturn (the reference), on free
# loopback ports, from a config text in turnserver.conf syntax.
#
#   my $srv = TrtcTest::Turn->start(conf => "lt-cred-mech\nuser=u:p\n...");
#   ... $srv->port, $srv->{relay_min} ...
#   $srv->stop_ok;              # a test: clean exit on SIGTERM
#   $srv->stop;                 # also on destruction; log shown on failure
#
#   my $r = TrtcTest::Turn::run(30, 'turnutils_uclient', ...);
#   $r->{rc}, $r->{out}, $r->{timed_out}
#
#   my $p = TrtcTest::Turn::spawn('turnutils_peer', ...);  $p->stop;

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Test::More ();

use TrtcTest::Stun;
use TrtcTest::Util qw(free_port write_file slurp fork_exec stop_pid);

my $ROOT = abs_path(dirname(__FILE__) . '/../../..');

sub kind { return lc($ENV{TRTC_TEST_TURN_SERVER} || 'turnd') }

sub is_coturn { return kind() eq 'coturn' }

sub binary {
    return $ENV{TRTC_TEST_COTURN} || '/usr/bin/turnserver' if is_coturn();
    return $ENV{TRTC_TEST_TURND} || "$ROOT/build/turnd";
}


# Options: conf (text appended to the generated lines), relay_span (number
# of relay ports, 100), wait (seconds for readiness, 10), env (a hash of
# environment variables for the server), journal (stderr as journald's),
# tls (a TLS listener on $srv->{tls_port}: the conf must name cert and
# pkey; without it the server gets no-tls), tls_port (that port, e.g. to
# start a stopped server again where it was).
sub start {
    my ($class, %o) = @_;
    my $bin = binary();
    die kind() eq 'turnd'
        ? "$bin not built (make turnd), or run with "
          . "TRTC_TEST_TURN_SERVER=coturn\n"
        : "$bin not found (apt-get install coturn)\n"
        unless -x $bin;

    my $dir = tempdir('trtc-turn-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $span = $o{relay_span} || 100;
    my $self = bless { dir => $dir, kind => kind(),
                       # coturn takes the next port too (its alternate)
                       port => free_port(proto => 'both', n => 2),
                       relay_min => free_port(proto => 'udp', n => $span,
                                              range => [40000, 60000]),
                       log => "$dir/server.log", out => "$dir/stdout.log",
                     }, $class;
    $self->{relay_max} = $self->{relay_min} + $span - 1;
    $self->{tls_port} = $o{tls_port} || free_port() if $o{tls};

    my $conf = join "\n",
        "# written by TrtcTest::Turn for " . kind(),
        "listening-ip=127.0.0.1",
        "listening-port=$self->{port}",
        "relay-ip=127.0.0.1",
        "min-port=$self->{relay_min}",
        "max-port=$self->{relay_max}",
        "pidfile=$dir/server.pid",
        "log-file=$self->{log}",
        $o{tls} ? "tls-listening-port=$self->{tls_port}" : "no-tls",
        "no-dtls",
        "verbose",
        # coturn only: no telnet CLI on 5766, one log file at exactly
        # log-file (no date suffix).
        is_coturn() ? ("no-cli", "simple-log") : (),
        "",
        $o{conf} // '', "";
    $self->{conf_text} = $conf;
    write_file("$dir/server.conf", $conf);

    # nofile => N: the server under that descriptor limit (soft and hard)
    my @cmd = ($bin, '-c', "$dir/server.conf");
    unshift @cmd, '/bin/sh', '-c', "ulimit -n $o{nofile} && exec \"\$@\"",
                  'sh' if $o{nofile};
    {
        local @ENV{keys %{$o{env} || {}}} = values %{$o{env} || {}};
        $self->{pid} = fork_exec({ out => $self->{out},
                                   journal => $o{journal} }, @cmd);
    }
    $self->{started} = time;
    $self->_wait_ready($o{wait} || 10);
    return $self;
}


sub port { return $_[0]{port} }

sub server_pid { return $_[0]{pid} }

# The server's resident memory in KiB (VmRSS), undef when gone.
sub rss_kb {
    my $self = shift;
    open my $fh, '<', "/proc/$self->{pid}/status" or return undef;
    while (<$fh>) { return $1 if /^VmRSS:\s+(\d+)/ }
    return undef;
}

# Waits up to $secs for a log line matching $re; returns it or undef.
sub wait_log {
    my ($self, $re, $secs) = @_;
    my $end = time + ($secs || 5);
    while (time < $end) {
        my ($line) = $self->log =~ /^(.*$re.*)$/m;
        return $line if defined $line;
        sleep 0.1;
    }
    return undef;
}


# Ready when a STUN Binding gets a success over UDP and over TCP.
sub _wait_ready {
    my ($self, $secs) = @_;
    my $end = time + $secs;
    my ($udp, $tcp) = (0, 0);
    while (time < $end) {
        unless ($self->alive) {
            $self->_diag_log;
            die "$self->{kind} exited during startup (status "
                . ($self->{status} >> 8) . ")\n";
        }
        for my $p (['udp', \$udp], ['tcp', \$tcp]) {
            next if ${$p->[1]};
            my $r = eval {
                my $c = TrtcTest::Stun->new(proto => $p->[0],
                    port => $self->{port}, timeout => 0.3);
                $c->request('binding', [], timeout => 0.3);
            };
            ${$p->[1]} = 1 if $r && ($r->{code} // 0) == 200;
        }
        return if $udp && $tcp;
        sleep 0.1;
    }
    $self->_diag_log;
    $self->stop(quiet => 1);
    die "$self->{kind} did not answer a Binding on 127.0.0.1:$self->{port}"
        . " (udp=$udp tcp=$tcp) within ${secs}s\n";
}


sub alive {
    my $self = shift;
    return 0 unless $self->{pid};
    my $w = waitpid $self->{pid}, WNOHANG;
    return 1 if $w == 0;
    $self->{status} = $?;
    delete $self->{pid};
    return 0;
}


# The server's log file and its stdout/stderr.
sub log {
    my $self = shift;
    my $text = '';
    for my $f ($self->{log}, $self->{out}) {
        next unless -s $f;
        $text .= "==> $f <==\n" . slurp($f);
    }
    return $text;
}


sub _diag_log {
    my $self = shift;
    Test::More::diag("$self->{kind} config:\n$self->{conf_text}");
    Test::More::diag("$self->{kind} log (last lines):\n"
                     . tail($self->log, 150));
}


# The last n lines of a text.
sub tail {
    my ($text, $n) = @_;
    my @l = split /\n/, $text // '';
    splice @l, 0, @l - $n if @l > $n;
    return join "\n", @l;
}


# TERM, then KILL after the timeout.  Shows the log when a test failed.
sub stop {
    my ($self, %o) = @_;
    if ($self->{pid}) {
        $self->{exit} = stop_pid($self->{pid}, timeout => $o{timeout} || 5);
        $self->{status} = $self->{exit}{status};
        delete $self->{pid};
    }
    $self->_diag_log
        if !$o{quiet} && !$self->{shown}++
           && !Test::More->builder->is_passing;
    return $self->{exit};
}

sub DESTROY { local ($?, $@); $_[0]->stop if $_[0]{pid} }


# stop, as a test: the server ends on SIGTERM within the timeout (exit 0
# or killed by that TERM) and its output holds no sanitizer report (for
# builds with -fsanitize=address,undefined).
sub stop_ok {
    my $self = shift;
    my $e = $self->stop(quiet => 1) || {};
    my $st = $e->{status} // -1;
    my $clean = !$e->{killed} && ($st == 0 || ($st & 127) == 15);
    my ($san) = $self->log =~ /(\S*Sanitizer\b.*|runtime error:.*)/;
    my $ok = Test::More::ok($clean && !$san,
        "$self->{kind} stopped cleanly on SIGTERM, no sanitizer report");
    Test::More::diag("exit status $st" . ($e->{killed} ? ' (KILLed)' : '')
                     . ($san ? "; $san" : '')) unless $ok;
    $self->_diag_log if !$self->{shown}++ && !Test::More->builder->is_passing;
    return $ok;
}


# Runs a command with a hard timeout: { rc, out, timed_out }.
sub run {
    my ($timeout, @cmd) = @_;
    my $dir = tempdir('trtc-run-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork_exec("$dir/out", @cmd);
    my $end = time + $timeout;
    my ($rc, $timed_out) = (undef, 0);
    while (1) {
        if (waitpid($pid, WNOHANG) > 0) {
            $rc = $? >> 8;
            $rc = -($? & 127) if $? & 127;
            kill 'KILL', -$pid;     # leftovers of its group, if any
            last;
        }
        if (time >= $end) {
            $timed_out = 1;
            my $e = stop_pid($pid, group => 1, timeout => 2);
            $rc = $e->{status} >> 8;
            last;
        }
        sleep 0.05;
    }
    my $out = slurp("$dir/out");
    return { rc => $rc, out => $out, timed_out => $timed_out,
             cmd => join(' ', @cmd) };
}


# An expired certificate for yun.test (valid for one day in 2020) and the
# CA that signed it, made in DIR with openssl ca (x509 -req cannot date a
# certificate in the past): { cert, key, ca }, or { error } saying why not.
sub expired_cert {
    my ($dir) = @_;
    my $sh = <<"EOF";
set -e
cd $dir
printf '[ca]\\ndefault_ca=c\\n[c]\\ndatabase=idx\\nnew_certs_dir=.\\nserial=serial\\ndefault_md=sha256\\npolicy=p\\ncopy_extensions=copy\\n[p]\\ncommonName=supplied\\n' > ca.cnf
: > idx; echo 01 > serial
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -subj /CN=expired-ca -days 2 -out ca.crt
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -subj /CN=yun.test -addext subjectAltName=DNS:yun.test -out leaf.csr
openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -startdate 20200101000000Z -enddate 20200102000000Z -in leaf.csr -out leaf.crt
EOF
    my $r = run(20, '/bin/sh', '-c', $sh);
    return { error => $r->{out} } if $r->{rc};
    return { cert => "$dir/leaf.crt", key => "$dir/leaf.key",
             ca => "$dir/ca.crt" };
}


# A UDP relay with TrtcTest::Stun: an allocation, a permission, then n
# payloads of size bytes (Send indications) to a UDP peer on 127.0.0.1,
# which echoes each back through the relay.  Options: port, user, pass,
# n (20), size (100).  Returns the client (the allocation lives as long as
# it does) and how many payloads came back whole.
sub relay_echo {
    my (%o) = @_;
    my ($n, $size) = ($o{n} // 20, $o{size} // 100);
    my $peer = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     LocalPort => 0, Proto => 'udp')
        or die "peer socket: $!";
    my $c = TrtcTest::Stun->new(port => $o{port}, user => $o{user},
                                pass => $o{pass});
    return ($c, 0) unless ($c->allocate->{code} // 0) == 200
        && ($c->create_permission('127.0.0.1')->{code} // 0) == 200;
    my $sel = IO::Select->new($peer);
    my $back = 0;
    for (1 .. $n) {
        $c->send_indication('127.0.0.1', $peer->sockport, 'x' x $size);
        next unless $sel->can_read(2);
        my $from = $peer->recv(my $buf, 65535) // next;
        $peer->send($buf, 0, $from);
        my ($data) = $c->recv_data(2);
        $back++ if defined $data && length $data == $size;
    }
    return ($c, $back);
}


# Starts a background command; ->stop ends its whole process group.
sub spawn {
    my (@cmd) = @_;
    my $dir = tempdir('trtc-spawn-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $pid = fork_exec("$dir/out", @cmd);
    return bless { pid => $pid, out => "$dir/out", cmd => "@cmd" },
                 'TrtcTest::Turn::Proc';
}


package TrtcTest::Turn::Proc;

sub pid { return $_[0]{pid} }

sub alive {
    my $self = shift;
    return 0 unless $self->{pid};
    return 1 if waitpid($self->{pid}, POSIX::WNOHANG()) == 0;
    delete $self->{pid};
    return 0;
}

sub output {
    return TrtcTest::Util::slurp($_[0]{out});
}

sub stop {
    my ($self, $timeout) = @_;
    return unless $self->{pid};
    my $e = TrtcTest::Util::stop_pid($self->{pid}, group => 1,
                                     timeout => $timeout || 3);
    delete $self->{pid};
    return $e;
}

sub DESTROY { local ($?, $@); $_[0]->stop if $_[0]{pid} }

1;
