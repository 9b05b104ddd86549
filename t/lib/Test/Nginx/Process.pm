package Test::Nginx::Process;

# Starting and stopping nginx (spec §3.6 steps 3 and 5).
#
# nginx is started as
#   $TEST_NGINX_BINARY -e <servroot>/logs/error.log -p <servroot>/ \
#       -c <servroot>/conf/nginx.conf
# and normally daemonizes.  Under TEST_NGINX_USE_VALGRIND it runs with
# `daemon off` in a forked child under valgrind; valgrind's report goes to
# logs/valgrind.log and is turned into a failure when the block ends.
#
# Stopping only ever signals the pid from our own pid file (and only if its
# command line names our servroot) or our own valgrind child.

use strict;
use warnings;

use Exporter 'import';
use File::Spec ();
use POSIX qw(WNOHANG SIGQUIT SIGTERM SIGKILL);
use Time::HiRes qw(sleep time);
use Test::Nginx::Util qw(:all);
# alive: kill(0) also succeeds for zombies, which a non-reaping init keeps
use TrtcTest::Util qw(slurp alive);

our @EXPORT = qw(start_nginx stop_nginx nginx_running startup_emerg
                 check_child_alive);

our $ChildPid;          # valgrind mode: the forked nginx
our $StderrFile;        # where the start command's stderr went
our $CleanupRegistered;

sub pid_from_file {
    my $pid = slurp($PidFile);
    return $pid =~ /^\s*(\d+)\s*$/ ? $1 : undef;
}

# True if $pid is an nginx we started: its command line holds our servroot.
sub is_our_nginx {
    my $pid = shift;
    my $cmd = slurp("/proc/$pid/cmdline");
    $cmd =~ tr/\0/ /;
    return index($cmd, "$ServRoot/") >= 0;
}

sub nginx_running {
    return 1 if $ChildPid && alive($ChildPid);
    my $pid = pid_from_file();
    return $pid && alive($pid) && is_our_nginx($pid);
}

sub nginx_cmd {
    my @cmd = ($NginxBinary);
    # -e (nginx >= 1.19.5): Debian's compiled-in early error log is stderr
    push @cmd, '-e', $ErrLogFile if nginx_version() >= 1.019005;
    push @cmd, '-p', "$ServRoot/", '-c', $ConfFile;
    return @cmd;
}

sub valgrind_cmd {
    my @v = ('valgrind');
    if ($UseValgrind =~ /^\d+$/) {
        push @v, qw(--num-callers=100 -q --tool=memcheck --leak-check=full
                    --keep-debuginfo=yes --show-possibly-lost=no
                    --gen-suppressions=all);
        # ./valgrind.suppress like the real runner, else the repository's
        # (this file is <repo>/t/lib/Test/Nginx/Process.pm)
        (my $repo = File::Spec->rel2abs(__FILE__)) =~ s{(?:/[^/]+){5}$}{};
        for my $f ('valgrind.suppress', "$repo/valgrind.suppress") {
            if (-f $f) {
                push @v, "--suppressions=$f";
                last;
            }
        }
    } else {
        push @v, '-q', split ' ', $UseValgrind;
    }
    push @v, qw(--exit-on-first-error=yes --error-exitcode=1)
        if $ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR};
    return @v;
}

# fork + exec with stdout to /dev/null and stderr to $stderr.
sub spawn {
    my ($stderr, $own_group, @cmd) = @_;
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        POSIX::setpgid(0, 0) if $own_group;
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        open STDERR, '>>', $stderr;
        { exec { $cmd[0] } @cmd }
        print STDERR "exec $cmd[0] failed: $!\n";
        POSIX::_exit(127);
    }
    return $pid;
}

# The first [emerg] line of the log and of the start command's stderr.
sub startup_emerg {
    for my $text (slurp($ErrLogFile), $StderrFile ? slurp($StderrFile) : '')
    {
        return $1 if $text =~ /^(.*\[emerg\].*)$/m;
    }
    return undef;
}

# Returns {ok => 1} or {ok => 0, status, exit_code, emerg, cmd}.  With
# $once (must_die) nginx is run exactly once.
sub start_nginx {
    my ($name, $once) = @_;
    my @cmd = nginx_cmd();
    $StderrFile = "$LogDir/nginx.stderr";

    if ($UseValgrind && !$once) {
        @cmd = (valgrind_cmd(), @cmd);
        warn "$name\n" if $Verbose;
        $ChildPid = spawn("$LogDir/valgrind.log", 1, @cmd);
        push @InternalCleanup, \&kill_child unless $CleanupRegistered++;
        # nginx writes its pid file after binding its sockets: wait for
        # it (valgrind is slow to start), or for the child to die
        my $deadline = time + $Timeout + 10;
        while (time < $deadline) {
            my $st = check_child_alive($name, "@cmd");
            return $st unless $st->{ok};
            my $pid = pid_from_file();
            return $st if $pid && $pid == $ChildPid;
            sleep 0.05;
        }
        return { ok => 1 };     # the client's retries take it from here
    }

    my ($waited, $i) = (0, 0);
    while (1) {
        my $pid = spawn($StderrFile, 0, @cmd);
        waitpid $pid, 0;
        my $status = $?;
        my $res = { ok => $status == 0, status => $status,
                    exit_code => $status >> 8, core => $status & 128,
                    cmd => "@cmd" };
        return $res if $once || $res->{ok};

        # Fail fast on an [emerg] (nginx itself already retries bind() for
        # 2.5 s); retry for a while only when nginx said nothing.
        my $emerg = startup_emerg();
        $res->{emerg} = $emerg;
        return $res if defined $emerg || $waited >= 5;
        my $delay = 0.1 * ++$i;
        $delay = 1 if $delay > 1;
        sleep $delay;
        $waited += $delay;
    }
}

# Valgrind mode: a child that already exited means nginx did not start.
sub check_child_alive {
    my ($name, $cmd) = @_;
    return { ok => 1 } unless $ChildPid;
    my $r = waitpid $ChildPid, WNOHANG;
    return { ok => 1 } if $r == 0;
    my $status = $?;
    undef $ChildPid;
    return { ok => 0, status => $status, exit_code => $status >> 8,
             emerg => startup_emerg(), cmd => $cmd };
}

sub kill_child {
    stop_nginx('cleanup') if $ChildPid;
}

# Sends QUIT (TERM with TEST_NGINX_FAST_SHUTDOWN), polls every 50 ms for
# up to timeout(), then SIGKILLs.  Returns valgrind's report, if any.
sub stop_nginx {
    my $name = shift;
    my $child = $ChildPid;
    my $pid = $child;
    if (!$pid) {
        $pid = pid_from_file();
        return undef unless $pid && alive($pid);
        if (!is_our_nginx($pid)) {
            warn "WARNING: $name - pid $pid in $PidFile is not our nginx; "
                 . "leaving it alone\n";
            return undef;
        }
    }

    kill $ENV{TEST_NGINX_FAST_SHUTDOWN} ? SIGTERM : SIGQUIT, $pid;
    my $deadline = time + $Timeout + ($child ? 5 : 0);
    while (time < $deadline) {
        waitpid($pid, WNOHANG) if $child;
        last unless alive($pid);
        sleep 0.05;
    }
    if (alive($pid)) {
        warn "$name - timeout when waiting for the process $pid to exit\n";
        # a daemonized nginx (or our valgrind child) leads its own group,
        # which holds only its workers
        if (getpgrp($pid) == $pid) {
            kill SIGKILL, -$pid;
        } else {
            kill SIGKILL, $pid;
        }
        waitpid($pid, 0) if $child;
        sleep 0.05;
    }
    waitpid($pid, 0) if $child;
    undef $ChildPid;

    return undef unless $child;
    my $report = slurp("$LogDir/valgrind.log");
    return $report =~ /^==\d+==/m ? $report : undef;
}

1;
