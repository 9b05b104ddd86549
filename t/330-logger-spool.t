# vi:filetype=perl
#
# trtc_logger_spool at run time, against a real HTTPS upstream
# (t/ws/https_recorder.py, the yun.test certificate, recording every
# request): uploads made while the upstream is down are answered 200 +
# X-Trtc-Spooled and written to the spool; an nginx restart and a reload
# lose none of them; once the upstream is back they arrive in order, byte
# for byte, with Host and SNI yun.test, and the spool empties.  Also: a GET
# is not spooled, upstream 5xx and timeouts are spooled, a 4xx on replay
# sets the upload aside, and a full spool answers 503 + Retry-After.
#
# A plain Test::More file: one nginx (master + 2 workers, so uploads are
# spooled by either worker and replayed by worker 0) lives through the
# whole sequence, with a restart and a reload, which the block format does
# not express.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use MIME::Base64 qw(decode_base64);
use Test::More;
use Time::HiRes qw(sleep time);
use TrtcTest::Nginx;
use TrtcTest::Spool;
use TrtcTest::Util qw(free_port write_file slurp wait_ok);

my @modules = TrtcTest::Nginx::modules();
my $python = '/usr/bin/python3';   # Debian's, not a pyenv one

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless @modules;
plan skip_all => "$python is missing" unless -x $python;

my $t = dirname(abs_path(__FILE__));
my $certs = "$t/cert";
my $dir = "$t/servroot_330";
my $spool = "$dir/spool";
my $small = "$dir/spool_small";
my $slow = "$dir/spool_slow";
my $control = "$dir/control";

remove_tree($dir);
make_path($spool, $small, $slow);

# As deployed: workers run as nobody (the `user` line before http{}), so
# the spool directories belong to nobody.
my $user = '';
if ($> == 0) {
    my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    chown $uid, $gid, $spool, $small, $slow;
    chmod 0755, $dir;
    $user = 'nobody nogroup';
}

my $port = free_port();
my $up = free_port();       # the recorder, when it runs
my $dead = free_port();     # nothing ever listens here

my $ng = TrtcTest::Nginx->new(dir => $dir, workers => 2, user => $user);
$ng->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$port;
        location /logger/ {
            trtc_logger_pass https://127.0.0.1:$up/ host=yun.test
                             ca=$certs/ca.crt;
            trtc_logger_spool $spool;
        }
        location /slow/ {
            proxy_read_timeout 1s;
            trtc_logger_pass https://127.0.0.1:$up/ host=yun.test
                             ca=$certs/ca.crt;
            trtc_logger_spool $slow;
        }
        location /small/ {
            trtc_logger_pass http://127.0.0.1:$dead/;
            trtc_logger_spool $small max_size=1000;
        }
    }
EOF

my $http = HTTP::Tiny->new(timeout => 10, keep_alive => 0);
TrtcTest::Spool::init(dir => $dir, t => $t, nginx => $ng, port => $port,
                      up => $up, python => $python, certs => $certs);

END {
    local $?;
    stop_upstream();
    $ng->stop;
}

# Bodies: every byte value, sizes from 1 byte to past the 16k in-memory
# buffer (those go through a temp file) up to 300k.
my @bodies = ("\x00", join('', map { chr } 0 .. 255),
              random_bytes(5000), random_bytes(40000),
              random_bytes(300000));

# --- upstream down: uploads are spooled

start_nginx() or BAIL_OUT('nginx did not start: ' . $ng->log_tail(5));

# upload 2 is a PUT: spooled too
my @methods = map { $_ == 2 ? 'PUT' : 'POST' } 0 .. $#bodies;

for my $i (0 .. $#bodies) {
    my $r = post("/logger/upload?n=$i", $bodies[$i], $methods[$i]);
    is($r->{status}, 200, "upload $i, upstream down: 200");
    is($r->{headers}{'x-trtc-spooled'}, '1', "upload $i: X-Trtc-Spooled: 1");
    # file names have millisecond resolution: uploads 1 ms apart
    # in different workers could sort either way
    sleep 0.02;
}

my @files = spool_files($spool);
is(scalar @files, scalar @bodies, 'one spool file per upload')
    or diag(join "\n", @files);
like($_, qr/^\d{13}-\d+-\d{6}\.req$/, "spool file name $_") for @files;
ok(!grep(/^\.tmp-/, dir_entries($spool)), 'no temporary file left behind');

for my $i (0 .. $#files) {
    my $req = slurp("$spool/$files[$i]");
    my ($head, $body) = split /\r\n\r\n/, $req, 2;
    like($head, qr{\A$methods[$i] /upload\?n=$i HTTP/1\.1\r\n},
         "file $i: request line, in arrival order");
    like($head, qr{^Host: yun\.test\r?$}m, "file $i: Host: yun.test");
    like($head, qr{^Content-Length: @{[length $bodies[$i]]}\r?$}m,
         "file $i: Content-Length");
    ok(defined $body && $body eq $bodies[$i], "file $i: the body, intact");
}

# --- what is not spooled

my $r = $http->get("http://127.0.0.1:$port/logger/probe");
is($r->{status}, 502, 'a GET to a down upstream: 502');
ok(!defined $r->{headers}{'x-trtc-spooled'}, 'a GET is not spooled');
is(scalar(spool_files($spool)), scalar @bodies, 'no spool file for a GET');

# --- a full spool: 503 + Retry-After

$r = post('/small/a', 'a' x 600);
is($r->{status}, 200, 'small spool: the first upload fits');
is($r->{headers}{'x-trtc-spooled'}, '1', 'small spool: spooled');
$r = post('/small/b', 'b' x 600);
is($r->{status}, 503, 'small spool: the next one is refused with 503');
is($r->{headers}{'retry-after'}, '30', 'Retry-After: 30');
ok(!defined $r->{headers}{'x-trtc-spooled'}, 'refused: not X-Trtc-Spooled');
is(scalar(spool_files($small)), 1, 'small spool: still one file');
like($ng->log_text, qr/\[warn\].*spool "\Q$small\E" is full, upload refused/,
     'the refusal is logged');

# --- a restart and a reload lose nothing; failed replays delete nothing

my $mark = $ng->log_mark;
ok($ng->stop, 'nginx stops');
start_nginx() or BAIL_OUT('nginx did not restart: ' . $ng->log_tail(5));
is(scalar(spool_files($spool)), scalar @bodies, 'after a restart: all there');

# at once, before the replayer's first look at the directory
$r = post('/small/c', 'c' x 600);
is($r->{status}, 503, 'after a restart a full spool is still full: 503');
is(scalar(spool_files($small)), 1, 'small spool: still one file');

kill 'HUP', $ng->pid;
wait_ok(sub { $ng->log_since($mark) =~ /reconfiguring/ }, 'reload', 10);
sleep 2.5;     # replays every second, to an upstream that is still down
is(scalar(spool_files($spool)), scalar @bodies,
   'after a reload and failed replays: all there');
like($ng->log_since($mark), qr/replay of "\d+-\d+-\d+\.req" to 127\.0\.0\.1:$up failed/,
     'failed replays are logged');

# --- the upstream is back: replayed in order, intact, spool empty

start_upstream();
wait_ok(sub { !spool_files($spool) }, 'the spool empties', 45)
    or diag(upstream_state());

my @rec = records();
is(scalar @rec, scalar @bodies, 'the upstream got each upload once')
    or diag(explain([map { "$_->{method} $_->{path} $_->{status}" } @rec]));
for my $i (0 .. $#bodies) {
    my $q = $rec[$i] or last;
    is("$q->{method} $q->{path}", "$methods[$i] /upload?n=$i",
       "replay $i: in order");
    is($q->{sni}, 'yun.test', "replay $i: SNI yun.test");
    is(header($q, 'Host'), 'yun.test', "replay $i: Host: yun.test");
    ok(decode_base64($q->{body}) eq $bodies[$i],
       "replay $i: the body, byte for byte");
}
like($ng->log_text, qr/spooled "\d+-\d+-\d+\.req" replayed to 127\.0\.0\.1:$up \(200\)/,
     'replays are logged');

# --- upstream up: proxied, not spooled

$r = post('/logger/direct', 'direct');
is($r->{status}, 200, 'upstream up: 200');
ok(!defined $r->{headers}{'x-trtc-spooled'}, 'upstream up: not spooled');
is($r->{content}, "recorded\n", "the upstream's answer is passed on");
is(scalar(spool_files($spool)), 0, 'upstream up: nothing spooled');

# --- an upstream 5xx is spooled; replayed once the upstream answers 2xx

write_file($control, '500');
$r = post('/logger/five', 'five hundred');
is($r->{status}, 200, 'upstream 500: the client gets 200');
is($r->{headers}{'x-trtc-spooled'}, '1', 'upstream 500: spooled');
is(scalar(spool_files($spool)), 1, 'upstream 500: one file');
sleep 1.5;
is(scalar(spool_files($spool)), 1, 'a replay answered 500 keeps the file');
write_file($control, '200');
wait_ok(sub { !spool_files($spool) }, 'replayed after the 500s', 20);
@rec = grep { $_->{path} eq '/five' } records();
ok(@rec >= 2, 'the upstream saw the upload more than once');
is($rec[-1]{status}, 200, 'the last delivery was answered 200');
is(decode_base64($rec[-1]{body}), 'five hundred', 'and carried the body');

# --- a 4xx on replay: set aside as .rejected-NAME, with a warning

write_file($control, '500');
$r = post('/logger/four', 'four hundred');
is($r->{headers}{'x-trtc-spooled'}, '1', 'spooled again');
write_file($control, '400');
wait_ok(sub { !spool_files($spool) }, 'a 400 on replay: no longer waits',
         20);
like($ng->log_text, qr/\[warn\].*answered 400 to spooled "(\d+-\d+-\d+\.req)", set aside as "\.rejected-\1"/,
     'set aside, logged as a warning with the status');
is(scalar(grep { /^\.rejected-\d+-\d+-\d+\.req$/ } dir_entries($spool)), 1,
   'the rejected upload is kept as .rejected-NAME');
write_file($control, '200');

# --- an upstream timeout is spooled

write_file($control, 'hang 3');
my $t0 = time;
$r = post('/slow/late', 'late');
is($r->{status}, 200, 'upstream timed out: the client gets 200');
is($r->{headers}{'x-trtc-spooled'}, '1', 'upstream timed out: spooled');
ok(time - $t0 < 2.5, 'after the 1s proxy_read_timeout, not the 3s answer');
write_file($control, '200');
wait_ok(sub { !spool_files($slow) }, 'the timed out upload is replayed',
         20);
@rec = grep { $_->{path} eq '/late' } records();
ok(@rec >= 1 && $rec[-1]{status} == 200, 'delivered (at least once)');

# --- a spool that cannot be written: 503, never a silent 200

write_file($control, '500');
chmod 0555, $spool;
$mark = $ng->log_mark;
$r = post('/logger/nowhere', 'nowhere to go');
is($r->{status}, 503, 'unwritable spool: 503');
ok(!defined $r->{headers}{'x-trtc-spooled'}, 'unwritable spool: not spooled');
like($ng->log_since($mark), qr/\[crit\].*\Q$spool\E/, 'the failure is logged');
chmod 0755, $spool;
write_file($control, '200');

# --- the end: nothing left, nothing alarming

ok(scalar(spool_files($small)) >= 1, 'the dead upstream keeps its uploads');
ok(!grep(/^\.tmp-/, dir_entries($_)), "no temporary file left in $_")
    for $spool, $small, $slow;
ok($ng->stop, 'nginx stops');
my @bad = grep { /\[(?:alert|crit|emerg)\]/ && !/nowhere/ }
          split /^/, $ng->log_text;
ok(!@bad, 'no alert, crit, emerg but the unwritable spool\'s')
    or diag(@bad);

done_testing();


