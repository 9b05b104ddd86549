package Test::Nginx::Mock;

# The embedded mock servers (spec §3.10): --- tcp_listen and --- udp_listen.
# Each is a forked child that serves one connection (or one datagram) and
# exits.  The listening socket is made by the parent before the request is
# sent, so there is no start-up race.  The child sends what it received back
# through a pipe, for --- tcp_query / tcp_query_len / udp_query.  Children
# are killed by pid after each repeat; they never run END blocks.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use IO::Socket::UNIX ();
use POSIX qw(WNOHANG);
use Socket qw(SOCK_STREAM SOCK_DGRAM);
use Time::HiRes qw(sleep time);
use Test::More ();
use Test::Nginx::Util qw(:all);

our @EXPORT = qw(start_mocks finish_mocks kill_mocks);

our @Mocks;     # {kind, pid, rfh, path}

push @InternalCleanup, \&kill_mocks;

sub make_socket {
    my ($name, $kind, $target) = @_;
    my $tcp = $kind eq 'tcp';
    if ($target =~ /\.sock$/) {
        unlink $target if -e $target;
        return IO::Socket::UNIX->new(Local => $target,
                                     Type => $tcp ? SOCK_STREAM : SOCK_DGRAM,
                                     $tcp ? (Listen => 5) : ());
    }
    bail_out("$name - bad ${kind}_listen target: $target")
        unless $target =~ /^\d+$/;
    return IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $target,
                                 Proto => 'tcp', ReuseAddr => 1,
                                 Listen => 5) if $tcp;
    # no SO_REUSEADDR: with it, two UDP sockets could share the port
    return IO::Socket::INET->new(LocalPort => $target, Proto => 'udp');
}

# Forks; the child runs $code and leaves with _exit so nothing of the
# parent's (END blocks, Test::Builder) runs twice.
sub spawn_mock {
    my ($ctx, $kind, $sock, $path, $code, $qfile) = @_;
    pipe my $rfh, my $wfh or bail_out("pipe() failed: $!");
    my $pid = fork;
    bail_out("fork() failed: $!") unless defined $pid;
    if ($pid == 0) {
        close $rfh;
        $SIG{$_} = 'DEFAULT' for qw(TERM INT);
        $SIG{PIPE} = 'IGNORE';
        eval { $code->($sock, $wfh) };
        warn "$ctx->{name} - $kind mock: $@" if $@;
        POSIX::_exit(0);
    }
    close $wfh;
    close $sock;
    push @Mocks, { kind => $kind, pid => $pid, rfh => $rfh, path => $path,
                   qfile => $qfile };
}

sub write_all {
    my ($fh, $data) = @_;
    while (length $data) {
        my $n = syswrite $fh, $data;
        return unless $n;
        substr($data, 0, $n) = '';
    }
}

sub replies {
    my ($reply, $query) = @_;
    $reply = $reply->($query) if ref $reply eq 'CODE';
    return ref $reply eq 'ARRAY' ? @$reply : defined $reply ? ($reply) : ();
}

sub start_tcp {
    my ($ctx, $target) = @_;
    my ($block, $name) = @$ctx{qw(block name)};
    my $reply = $block->tcp_reply;
    bail_out("$name - no --- tcp_reply specified but --- tcp_listen is "
             . "specified") unless defined $reply
                                   || defined $block->tcp_shutdown;
    my $sock;
    my $deadline = time + $Timeout;
    while (!($sock = make_socket($name, 'tcp', $target))) {
        # the previous mock's port may still be held for a moment
        bail_out("$name - failed to create the tcp listening socket on "
                 . "$target: $!") if time > $deadline || !$!{EADDRINUSE};
        sleep 0.1;
    }

    # How much the mock reads before it replies, as the real runner's
    # does: tcp_query_len bytes, or the length of tcp_query (of a qr// the
    # length of its text, whatever nginx sends), reading on until then;
    # with neither, one read of up to 4096 bytes; with
    # tcp_query_auto_timeout (0.1 s if empty), until the client has been
    # quiet that long.  Where the real mock would wait for ever (the
    # client closed, or stays quiet, short of the length), this one stops
    # after timeout() and, like it, never replies: the block times out
    # here too instead of passing here and not there.
    my $q = $block->tcp_query;
    my $want = $block->tcp_query_len;
    $want //= length "$q" if defined $q;
    my $auto = $block->tcp_query_auto_timeout;
    my $idle = defined $auto ? parse_time($auto eq '' ? '0.1' : $auto)
                             : undef;

    # the query goes to a file, not through the pipe: a pipe holds 64 KiB
    # and is read only after the client is done, so a larger query would
    # block the mock before it replies
    my ($qfh, $qfile) = File::Temp::tempfile('tnmockXXXXXX', TMPDIR => 1,
                                             UNLINK => 1);
    close $qfh;

    spawn_mock($ctx, 'tcp', $sock, $target =~ /\.sock$/ ? $target : undef,
               sub {
        my ($srv, $wfh) = @_;
        my $c;
        $c = $srv->accept until $c;
        my ($no_read, $no_write);
        if (defined(my $how = $block->tcp_shutdown)) {
            my $d = parse_time($block->tcp_shutdown_delay);
            sleep $d if $d;
            $c->shutdown($how);
            $no_read = $how != 1;
            $no_write = $how != 0;
        }
        my ($got, $short) = ('', '');
        if (!$no_read) {
            my $sel = IO::Select->new($c);
            while (1) {
                if (!$sel->can_read($idle // $Timeout)) {
                    $short = "nothing more in ${Timeout}s" unless defined $idle;
                    last;
                }
                my $n = sysread $c, my $buf, 4096;
                if (!$n) {
                    $short = 'then the client closed'
                        if defined $idle || ($want && length $got < $want);
                    last;
                }
                $got .= $buf;
                last if !defined $idle && (!$want || length $got >= $want);
            }
        }
        if ($short) {
            warn "$name - tcp_listen mock: got " . length($got) . " bytes"
                 . ($want && !defined $idle ? " of the $want it waits for"
                                            : '')
                 . ", $short: the real Test::Nginx's mock would never reply"
                 . " (see tcp_query_len, tcp_query_auto_timeout)\n";
        }
        if (open my $q, '>:raw', $qfile) {
            write_all($q, $got);
            close $q;
        }
        close $wfh;     # EOF: the query is in the file
        my $delay = parse_time($block->tcp_reply_delay);
        sleep $delay if $delay;
        if (!$no_write && !$short) {
            write_all($c, $_) for replies($reply, $got);
        }
        if (defined $block->tcp_no_close || $short) {
            sleep 1 while 1;    # until killed
        }
        close $c;
    }, $qfile);
}

sub start_udp {
    my ($ctx, $target) = @_;
    my ($block, $name) = @$ctx{qw(block name)};
    my $reply = $block->udp_reply;
    bail_out("$name - no --- udp_reply specified but --- udp_listen is "
             . "specified") unless defined $reply;
    my $sock = make_socket($name, 'udp', $target)
        or bail_out("$name - failed to create the udp socket on $target: $!");

    spawn_mock($ctx, 'udp', $sock, $target =~ /\.sock$/ ? $target : undef,
               sub {
        my ($s, $wfh) = @_;
        my $from = recv($s, my $got, 65536, 0);
        $got //= '';
        write_all($wfh, $got);
        close $wfh;
        my $delay = parse_time($block->udp_reply_delay);
        sleep $delay if $delay;
        for my $r (replies($reply, $got)) {
            defined send($s, $r, 0, $from)
                or warn "$name - udp mock: send failed: $!\n";
        }
    });
}

sub start_mocks {
    my $ctx = shift;
    my ($block, $name, $ports) = @$ctx{qw(block name ports)};
    if (defined(my $t = $block->tcp_listen)) {
        start_tcp($ctx, expand_env($t, $ports, $name));
    }
    if (defined(my $t = $block->udp_listen)) {
        start_udp($ctx, expand_env($t, $ports, $name));
    }
}

# What the mock received; waits a little for it (the mock writes it before
# replying, so normally it is there already).
sub received {
    my $m = shift;
    return $m->{query} if defined $m->{query};
    my ($data, $sel) = ('', IO::Select->new($m->{rfh}));
    my $deadline = time + ($Timeout < 1 ? $Timeout : 1);
    while ((my $left = $deadline - time) > 0) {
        last unless $sel->can_read($left);
        my $n = sysread $m->{rfh}, my $buf, 65536;
        last unless $n;
        $data .= $buf;
    }
    if (defined $m->{qfile} && open my $q, '<:raw', $m->{qfile}) {
        local $/;
        $data = <$q> // '';
        close $q;
    }
    return $m->{query} = $data;
}

# The per-repeat mock subtests, then the mocks are killed.
sub finish_mocks {
    my $ctx = shift;
    my ($block, $name) = @$ctx{qw(block name)};
    for my $m (@Mocks) {
        if ($m->{kind} eq 'tcp') {
            if (defined(my $q = $block->tcp_query)) {
                is_str(received($m), $q, "$name - tcp_query ok");
            }
            if (defined(my $len = $block->tcp_query_len)) {
                Test::More::is(length(received($m)), $len,
                               "$name - TCP query length ok");
            }
        } elsif (defined(my $q = $block->udp_query)) {
            is_str(received($m), $q, "$name - udp_query ok");
        }
    }
    kill_mocks();
}

sub kill_mocks {
    return if $$ != $MainPid;
    while (my $m = shift @Mocks) {
        my $pid = $m->{pid};
        kill 'TERM', $pid;
        my $deadline = time + 1;
        while (waitpid($pid, WNOHANG) == 0) {
            if (time > $deadline) {
                kill 'KILL', $pid;
                waitpid $pid, 0;
                last;
            }
            sleep 0.01;
        }
        close $m->{rfh};
        unlink $m->{path} if defined $m->{path};
    }
}

1;
