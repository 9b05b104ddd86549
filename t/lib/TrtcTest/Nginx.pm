package TrtcTest::Nginx;

# An nginx with the module, for the plain Test::More files: its
# nginx.conf preamble written once, started, reloaded and stopped by the
# pid in its own pid file, its error.log read from a mark.
#
#   my $ng = TrtcTest::Nginx->new(dir => "$t/servroot_210", workers => 2,
#                                 user => 'nobody nogroup');
#   $ng->write_conf(<<"EOF");      # what goes inside http { }
#       server { listen 127.0.0.1:$port; ... }
#   EOF
#   $ng->start or BAIL_OUT('nginx did not start: ' . $ng->log_tail);
#   my $mark = $ng->log_mark;  ...;  $ng->log_since($mark)
#   $ng->reload;  $ng->stop;       # also at exit
#
# new() options: dir (the servroot: conf/, logs/, tmp/ are made in it),
# name ('nginx': conf/NAME.conf, logs/NAME.pid, and logs/error.log or,
# for another name, logs/NAME.error.log), workers (1), master (1),
# daemon (1), user (as root only: 'nobody nogroup', 'root'; none by
# default), log_level ('info'), connections (64), modules (1: load
# TEST_NGINX_LOAD_MODULES; 0: stock nginx), binary (TEST_NGINX_BINARY or
# nginx).

use strict;
use warnings;

use File::Path qw(make_path);
use Test::More ();
use Time::HiRes qw(sleep time);

# not imported: this class has methods of the same names
use TrtcTest::Util ();

my @LIVE;       # started and not stopped: stopped at exit

END {
    local ($?, $!, $@);
    # not from a forked child that exits: the nginx is its parent's
    my @live = grep { $_->{owner} == $$ } @LIVE;
    $_->stop for @live;
}

# The modules make test built (TEST_NGINX_LOAD_MODULES), for skip_all.
sub modules {
    return split ' ', ($ENV{TEST_NGINX_LOAD_MODULES} || '');
}

sub binary {
    return $ENV{TEST_NGINX_BINARY} || 'nginx';
}

sub new {
    my ($class, %o) = @_;
    my $d = $o{dir} or die "TrtcTest::Nginx->new: dir is required\n";
    my $name = $o{name} // 'nginx';
    my $self = bless {
        workers => 1, master => 1, daemon => 1, log_level => 'info',
        connections => 64, modules => 1, binary => binary(), %o,
        name => $name,
        conf => "$d/conf/$name.conf",
        pidfile => "$d/logs/$name.pid",
        log => $name eq 'nginx' ? "$d/logs/error.log"
                                : "$d/logs/$name.error.log",
    }, $class;
    make_path("$d/conf", "$d/logs", "$d/tmp");
    return $self;
}

sub dir { $_[0]{dir} }
sub log { $_[0]{log} }
sub conf_file { $_[0]{conf} }

# nginx's argv for this instance; more arguments after it (-t, -s quit).
sub cmd {
    my ($self, @args) = @_;
    return ($self->{binary}, '-p', "$self->{dir}/", '-c', $self->{conf},
            '-e', $self->{log}, @args);
}

# The whole nginx.conf: load_module lines, the preamble, then main (text
# at the top level, such as a stream { } block) and http (the inside of
# http { }).  Temporary files under tmp/.
sub conf_text {
    my ($self, $http, %o) = @_;
    my ($d, $u) = ($self->{dir}, $self->{user});
    my $temp = join '', map { "    ${_}_temp_path $d/tmp/$_;\n" }
                        qw(client_body proxy fastcgi uwsgi scgi);
    return join '',
        ($self->{modules} ? map { "load_module $_;\n" } modules() : ()),
        ($u && $> == 0 ? "user $u;\n" : ''),
        "daemon ", ($self->{daemon} ? 'on' : 'off'), ";\n",
        "master_process ", ($self->{master} ? 'on' : 'off'), ";\n",
        "worker_processes $self->{workers};\n",
        "error_log $self->{log} $self->{log_level};\n",
        "pid $self->{pidfile};\n",
        "events { worker_connections $self->{connections}; }\n",
        $o{main} // '',
        "http {\n    access_log off;\n", $temp, $http // '', "}\n";
}

sub write_conf {
    my ($self, $http, %o) = @_;
    TrtcTest::Util::write_file($self->{conf}, $self->conf_text($http, %o));
}

# The master's pid from our pid file (undef if none).
sub pid {
    my $self = shift;
    my ($pid) = TrtcTest::Util::slurp($self->{pidfile}) =~ /^(\d+)$/m;
    return $pid;
}

sub alive {
    my $self = shift;
    return TrtcTest::Util::alive($self->pid);
}

# Runs nginx (daemon on: it forks and the master writes its pid file a
# moment later); true once the pid file names a live master (5 s at most).
sub start {
    my $self = shift;
    unlink $self->{pidfile};
    return 0 if system($self->cmd) != 0;
    $self->{owner} = $$;
    push @LIVE, $self;
    return !!TrtcTest::Util::wait_for(5, sub { $self->alive });
}

# nginx -s reload (after writing the conf, given the http text): true if
# nginx accepted it.  nginx parses the conf first and refuses a broken
# one; the new workers start a moment after.
sub reload {
    my ($self, @conf) = @_;
    $self->write_conf(@conf) if @conf;
    return system($self->cmd('-s', 'reload')) == 0;
}

# QUIT (graceful), KILL after timeout (10) seconds: by the pid in our own
# pid file only.  True if it quit by itself.
sub stop {
    my ($self, $timeout) = @_;
    my $pid = $self->pid;
    @LIVE = grep { $_ != $self } @LIVE;
    my $alive = sub { TrtcTest::Util::alive($pid) };
    return 1 unless $alive->();
    kill 'QUIT', $pid;
    return 1 if TrtcTest::Util::wait_for($timeout // 10,
                                         sub { !$alive->() });
    Test::More::diag("nginx $pid did not quit in " . ($timeout // 10)
                     . " s; killing it");
    kill 'KILL', $pid;
    return 0;
}

sub log_text { TrtcTest::Util::slurp($_[0]{log}) }
sub log_mark { TrtcTest::Util::log_mark($_[0]{log}) }
sub log_since { TrtcTest::Util::log_since($_[0]{log}, $_[1]) }

# The last n (10) lines of error.log, for a failure's diagnostics.
sub log_tail {
    my ($self, $n) = @_;
    my @l = split /^/, $self->log_text;
    $n //= 10;
    return join '', @l > $n ? @l[-$n .. -1] : @l;
}

1;
