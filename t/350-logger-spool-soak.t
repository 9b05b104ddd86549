# vi:filetype=perl
#
# The spool's soak test (issue 11), bounded: $N uploads (TRTC_SOAK_UPLOADS,
# 10000 by default) from 8 clients at once, to a log service
# (t/ws/flapping_upstream.py) that is up 2 s and down 2 s in turn, answers
# 500 for good to 1% of the bodies and 103 Early Hints then 500 to another
# 1%.  Then it stays up until the spool is empty (at most 90 s).  Every
# upload must be delivered, set aside (a dot file in the spool, counted) or
# refused with 503 (the client knows): none lost, none of the refused
# bodies delivered, and the status page's counters add up to the uploads
# sent.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use HTTP::Tiny;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use TrtcTest::Nginx;
use TrtcTest::Spool;
use TrtcTest::Util qw(free_port write_file slurp wait_ok);

my @modules = TrtcTest::Nginx::modules();
my $python = '/usr/bin/python3';
my $N = $ENV{TRTC_SOAK_UPLOADS} || 10000;
my $CLIENTS = 8;

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless @modules;
plan skip_all => "$python is missing" unless -x $python;

my $t = dirname(abs_path(__FILE__));
my $dir = "$t/servroot_350";
my $spool = "$dir/spool";
my $record = "$dir/delivered";
my $steady = "$dir/steady";
my $ready = "$dir/upstream.ready";

remove_tree($dir);
make_path($spool);

my $user = '';
if ($> == 0) {
    my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    chown $uid, $gid, $spool;
    chmod 0755, $dir;
    $user = 'nobody nogroup';
}

my $port = free_port();
my $up = free_port();

# notice: one line per upload would be 10000s of lines; warn keeps the
# set-aside lines
my $ng = TrtcTest::Nginx->new(dir => $dir, workers => 2, user => $user,
                              log_level => 'notice', connections => 256);
$ng->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$port backlog=512;
        location /logger/ {
            proxy_connect_timeout 1s;
            trtc_logger_pass http://127.0.0.1:$up/;
            trtc_logger_spool $spool max_size=512m max_attempts=3;
        }
        location = /status { trtc_status json; }
    }
EOF

TrtcTest::Spool::init(dir => $dir, t => $t, nginx => $ng, port => $port,
                      up => $up, python => $python);

my $upstream;

END {
    local $?;
    if ($upstream) {
        kill 'TERM', $upstream;
        waitpid $upstream, 0;
    }
    $ng->stop;
}

start_nginx() or BAIL_OUT('nginx did not start: ' . $ng->log_tail(5));

$upstream = fork;
die "fork: $!" unless defined $upstream;
if ($upstream == 0) {
    open STDOUT, '>>', "$dir/logs/upstream.log" or POSIX::_exit(126);
    open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
    exec $python, "$t/ws/flapping_upstream.py", '--port', $up,
         '--record', $record, '--steady', $steady, '--ready', $ready,
         '--lifetime', 400
        or POSIX::_exit(127);
}
my $deadline = time + 20;
sleep 0.05 until slurp($ready) =~ /^ready $up $upstream$/m
                 || time > $deadline;
ok(slurp($ready) =~ /^ready/, 'the flapping upstream is up')
    or BAIL_OUT(slurp("$dir/logs/upstream.log"));

# What each upload is: 1% FAIL500, 1% EARLY500, a few past the 16k that
# nginx keeps in memory (those go through its temp file; some of them
# FAIL500, spooled from the upstream's answer rather than a failed
# connect).
sub kind {
    my $i = shift;
    return $i % 100 == 0 ? 'FAIL500' : $i % 100 == 50 ? 'EARLY500' : 'ok';
}

sub body {
    my $i = shift;
    my $len = $i % 500 == 7 || $i % 1000 == 0 ? 20000 : 100 + $i % 900;
    return "upload $i\n" . kind($i) . "\n" . ('x' x $len);
}

my $t0 = time;
my @kids;
for my $k (0 .. $CLIENTS - 1) {
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        my $http = HTTP::Tiny->new(timeout => 30, keep_alive => 1);
        open my $out, '>', "$dir/client.$k" or POSIX::_exit(1);
        for (my $i = $k; $i < $N; $i += $CLIENTS) {
            my $r = $http->request('POST', "http://127.0.0.1:$port/logger/u",
                                   { content => body($i) });
            print $out "$i $r->{status} ",
                       ($r->{headers}{'x-trtc-spooled'} // 0), "\n";
        }
        close $out;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
waitpid $_, 0 for @kids;
my $sent_in = time - $t0;
diag(sprintf '%d uploads sent in %.1f s', $N, $sent_in);

my (%answer, $spooled);
for my $k (0 .. $CLIENTS - 1) {
    for (split /\n/, slurp("$dir/client.$k")) {
        my ($i, $status, $sp) = split;
        $answer{$i} = $status;
        $spooled++ if $sp;
    }
}
is(scalar keys %answer, $N, 'every upload got an answer');
my @odd = grep { $answer{$_} != 200 && $answer{$_} != 503 } keys %answer;
ok(!@odd, 'every answer is 200 or 503')
    or diag(join ' ', map { "$_:$answer{$_}" } @odd[0 .. 9]);

# the service heals: the spool must empty
write_file($steady, "1\n");
my $st;
wait_ok(sub { $st = status_json('/status')->{logger};
               ($st->{spool_files} // 1) == 0 }, 'the spool empties', 90)
    or diag(explain($st));
diag(sprintf 'spool empty %.1f s after the start', time - $t0);
ok(time - $t0 < 180, 'all within 3 minutes');

# what became of each upload
my (%delivered, %ids);
for (split /\n/, slurp($record)) {
    my ($u, $i, $id) = split;
    next unless defined $i;
    $delivered{$i}++;
    $ids{$i}{$id} = 1;
}
my %aside;
for my $f (dir_entries($spool)) {
    next unless $f =~ /^\.(rejected|expired|bad)-/;
    my $why = $1;
    my ($i) = slurp("$spool/$f") =~ /\r\n\r\nupload (\d+)\n/;
    $aside{$i} = $why if defined $i;
}

my @lost = grep { !$delivered{$_} && !$aside{$_} && $answer{$_} != 503 }
           0 .. $N - 1;
ok(!@lost, 'no upload lost: each is delivered, set aside or refused')
    or diag(scalar(@lost) . " lost, e.g. @lost[0 .. 9]");
my @wrong = grep { kind($_) ne 'ok' && $delivered{$_} } 0 .. $N - 1;
ok(!@wrong, 'no FAIL500 or EARLY500 body counts as delivered')
    or diag("@wrong[0 .. 9]");
my @stuck = grep { kind($_) ne 'ok' && $answer{$_} == 200
                   && ($aside{$_} // '') ne 'expired' } 0 .. $N - 1;
ok(!@stuck, 'each of those the client was told 200 for is set aside '
            . '(.expired-, max_attempts=3)') or diag("@stuck[0 .. 9]");
my @twoids = grep { keys %{ $ids{$_} } > 1 } keys %ids;
ok(!@twoids, 'an upload delivered twice carries one X-Trtc-Upload-Id');

ok($spooled > $N / 10, "many uploads were spooled ($spooled)");

$st = status_json('/status')->{logger};
diag(explain($st));
is($st->{uploads_proxied} + $st->{uploads_spooled} + $st->{uploads_refused},
   $N, 'proxied + spooled + refused = uploads sent');
is($st->{uploads_spooled}, $spooled, 'spooled = the 200s with X-Trtc-Spooled');
is($st->{uploads_refused}, scalar(grep { $_ == 503 } values %answer),
   'refused = the 503s');
is($st->{uploads_replayed} + $st->{uploads_rejected}
   + $st->{uploads_expired} + $st->{uploads_damaged} + $st->{spool_files},
   $st->{uploads_spooled},
   'replayed + rejected + expired + damaged + waiting = spooled');
is(scalar(keys %aside), $st->{uploads_rejected} + $st->{uploads_expired}
                        + $st->{uploads_damaged},
   'one set-aside file per set-aside upload');
is(scalar(keys %delivered), $st->{uploads_proxied} + $st->{uploads_replayed},
   'uploads delivered = proxied + replayed');

ok($ng->stop, 'nginx stops');
my @bad = grep { /\[(?:alert|crit|emerg)\]/ } split /^/, $ng->log_text;
ok(!@bad, 'no alert, crit, emerg') or diag(@bad[0 .. 4]);

done_testing();
