# vi:filetype=perl
#
# trtc_logger_spool under hostile upstreams and clients (issue 11), against
# the HTTPS recorder (t/ws/https_recorder.py, per-path answers):
#
#   - the spool's own 200 and 503 carry the CORS headers trtc_allow_origin
#     gives, and a preflight the upstream cannot answer gets its 204;
#   - order across an outage: uploads sent once the log service is back
#     queue behind the ones spooled while it was down; once those are
#     replayed, uploads are proxied directly again, and a file waiting
#     after its own 500 sends nothing else through the disk; files found
#     at start are backlog until tried;
#   - an upload the upstream keeps refusing with 500 does not hold up the
#     ones after it, and every try of an upload carries one
#     X-Trtc-Upload-Id;
#   - 103 Early Hints then 500 is a failure: the upload stays spooled;
#   - a 4xx sets the upload aside (.rejected-), max_attempts= and
#     max_age= (and the 7 day default) set it aside (.expired-), a
#     truncated or garbled file is set aside (.bad-) without holding up
#     the next one; each is counted on the status page;
#   - a full file system (a 64k tmpfs in a private mount namespace) is
#     logged as ENOSPC, and the client gets 503.

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
use TrtcTest::Util qw(free_port write_file slurp wait_for wait_ok
                      stop_pid);

my $nginx = TrtcTest::Nginx::binary();
my @modules = TrtcTest::Nginx::modules();
my $python = '/usr/bin/python3';

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless @modules;
plan skip_all => "$python is missing" unless -x $python;

my $t = dirname(abs_path(__FILE__));
my $certs = "$t/cert";
my $dir = "$t/servroot_340";
my %sp = map { $_ => "$dir/spool_$_" }
          qw(main att age cors full loop order);
my $control = "$dir/control";

remove_tree($dir);
make_path(values %sp);

my ($user, $uid, $gid) = ('');
if ($> == 0) {
    ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    chown $uid, $gid, values %sp;
    chmod 0755, $dir;
    $user = 'nobody nogroup';
}

my $port = free_port();
my $up = free_port();
my $dead = free_port();
my $pass = "https://127.0.0.1:$up/ host=yun.test ca=$certs/ca.crt";

my $ng = TrtcTest::Nginx->new(dir => $dir, workers => 2, user => $user);
$ng->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$port;
        location /logger/ {
            trtc_logger_pass $pass;
            trtc_logger_spool $sp{main};
        }
        location /order/ {
            trtc_logger_pass $pass;
            trtc_logger_spool $sp{order};
        }
        location /att/ {
            trtc_logger_pass $pass;
            trtc_logger_spool $sp{att} max_attempts=2;
        }
        location /age/ {
            trtc_logger_pass $pass;
            trtc_logger_spool $sp{age} max_age=2s;
        }
        location /cors/ {
            trtc_allow_origin https://app.test;
            trtc_logger_pass http://127.0.0.1:$dead/;
            trtc_logger_spool $sp{cors};
        }
        location /full/ {
            trtc_allow_origin https://app.test;
            trtc_logger_pass http://127.0.0.1:$dead/;
            trtc_logger_spool $sp{full} max_size=1000;
        }
        location /loop/ {
            trtc_logger_pass http://127.0.0.1:$dead/;
            trtc_logger_spool $sp{loop} threads=off;
        }
        location = /status { trtc_status json; }
        location = /metrics { trtc_status prometheus; }
    }
EOF

TrtcTest::Spool::init(dir => $dir, t => $t, nginx => $ng, port => $port,
                      up => $up, python => $python, certs => $certs);

END {
    local $?;
    stop_upstream();
    $ng->stop;
}

start_nginx() or BAIL_OUT('nginx did not start: ' . $ng->log_tail(5));
my $started = time;

my $origin = { origin => 'https://app.test' };

# --- CORS: the spool's own answers, as a browser on another origin sees
# them

my $r = post('/cors/upload', 'from a page', 'POST', $origin);
is($r->{status}, 200, 'cross-origin upload, upstream down: 200');
is($r->{headers}{'x-trtc-spooled'}, '1', 'spooled');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.test',
   'spooled 200: Access-Control-Allow-Origin');
is($r->{headers}{'access-control-allow-credentials'}, 'true',
   'spooled 200: Access-Control-Allow-Credentials');
like($r->{headers}{'access-control-expose-headers'} // '',
     qr/X-Trtc-Spooled/i, 'spooled 200: X-Trtc-Spooled exposed');
like(join(',', $r->{headers}{vary} // ''), qr/Origin/, 'Vary: Origin');

$r = post('/cors/upload', '', 'OPTIONS', {
    %$origin, 'access-control-request-method' => 'POST',
    'access-control-request-headers' => 'content-type' });
is($r->{status}, 204, 'preflight, upstream down: 204');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.test',
   'preflight: Access-Control-Allow-Origin');
like($r->{headers}{'access-control-allow-methods'} // '', qr/\bPOST\b/,
     'preflight: POST allowed');
is($r->{headers}{'access-control-allow-headers'}, 'content-type',
   'preflight: the headers asked for');

$r = post('/cors/upload', 'same origin');
is($r->{status}, 200, 'no Origin: 200');
ok(!defined $r->{headers}{'access-control-allow-origin'},
   'no Origin: no Access-Control-Allow-Origin');

$r = post('/cors/upload', 'evil', 'POST', { origin => 'https://evil.test' });
is($r->{status}, 403, 'an origin not allowed: 403, not spooled');

$r = post('/full/a', 'a' x 600, 'POST', $origin);
is($r->{status}, 200, 'small spool: the first upload fits');
$r = post('/full/b', 'b' x 600, 'POST', $origin);
is($r->{status}, 503, 'small spool full: 503');
is($r->{headers}{'retry-after'}, '30', '503: Retry-After: 30');
is($r->{headers}{'access-control-allow-origin'}, 'https://app.test',
   '503: Access-Control-Allow-Origin');
like($r->{headers}{'access-control-expose-headers'} // '', qr/Retry-After/i,
     '503: Retry-After exposed');

# --- threads=off: the same, written on the event loop

$r = post('/loop/upload', 'on the loop');
is($r->{status}, 200, 'threads=off: 200');
is($r->{headers}{'x-trtc-spooled'}, '1', 'threads=off: spooled');
is(scalar(spool_files($sp{loop})), 1, 'threads=off: one file');

# --- a thread pool that is not there: nginx -t names the line

write_file("$dir/conf/bad.conf", join '', map("load_module $_;\n", @modules),
           "events {}\nhttp { server { listen 127.0.0.1:$dead;\n"
           . "location /l/ { trtc_logger_pass http://127.0.0.1:$dead/;\n"
           . "trtc_logger_spool $sp{loop} threads=nosuch; } } }\n");
my $out = `$nginx -t -p $dir/ -c $dir/conf/bad.conf -e $dir/logs/t.log 2>&1`;
like($out, qr/unknown thread pool "nosuch" in \S+bad\.conf:\d+/,
     'threads=NAME without a thread_pool NAME: nginx -t says where');

# --- order across an outage: the log service is down (the recorder is
# not started yet), four uploads are spooled; it comes back, and four more
# are sent at once: they queue behind the four, not overtake them

for my $i (0 .. 3) {
    $r = post("/order/o$i", "order $i");
    is($r->{headers}{'x-trtc-spooled'}, '1', "/o$i: spooled (service down)");
    sleep 0.005;
}

# the replayer's "upstream down" wait grows: 1, 2, 4, then 8 s
sleep 8;
write_file($control, "200\n");
start_upstream();

for my $i (4 .. 7) {
    $r = post("/order/o$i", "order $i");
    is($r->{status}, 200, "/o$i, service back: 200");
    sleep 0.005;
}
my $back = time;
my @order = map { "/o$_" } 0 .. 7;
my $arrived = sub {
    [map { $_->{path} } grep { $_->{path} =~ m{^/o\d$} } records()];
};
wait_ok(sub { @{ $arrived->() } >= 8 }, 'all eight uploads arrive', 15);
my $late = time - $back;
ok($late < 4, sprintf('the replayer woke for them, not after its 8 s wait '
                      . '(%.1f s)', $late));
is_deeply($arrived->(), \@order,
          'each once, in arrival order across the outage');
ok($ng->log_text =~ /spooled as "\d+-\d+-\d+\.req" behind the uploads not yet replayed/,
     'the ones behind the backlog are logged as such');
wait_ok(sub { !spool_files($sp{order}) }, 'the backlog is drained', 5);
$r = post('/order/o8', 'order 8');
ok(!defined $r->{headers}{'x-trtc-spooled'},
   'backlog drained: the next upload is proxied directly');
stop_upstream();
unlink "$dir/record.jsonl";

# --- one upload the upstream refuses (500 for good) does not hold up the
# others

write_file($control, "500\n");
start_upstream();

for my $p (qw(bad a1 a2 a3)) {
    $r = post("/logger/$p", "body of $p");
    is($r->{headers}{'x-trtc-spooled'}, '1', "/$p: spooled (upstream 500)");
    sleep 0.02;
}
is(scalar(spool_files($sp{main})), 4, 'four files');

my $t0 = time;
write_file($control, "/bad 500\n200\n");
my $delivered = sub {
    my %ok = map { $_->{path} => 1 } grep { $_->{status} == 200 } records();
    return !grep { !$ok{"/$_"} } qw(a1 a2 a3);
};
wait_ok($delivered, 'the three after the refused one are delivered', 8);
my $took = time - $t0;
ok($took < 6, sprintf('within 6 s of the upstream healing (%.1f s)', $took));
is_deeply([map { $_->{path} } grep { $_->{status} == 200 } records()],
          [qw(/a1 /a2 /a3)], 'in arrival order');
# the log service records an upload before nginx has its answer and the
# replayer removes the file
wait_ok(sub { spool_files($sp{main}) == 1 }, 'only the refused one still waits',
        3);
like($ng->log_text, qr/replay of "\d+-\d+-\d+\.req" to \S+ failed \(status 500\), attempt 1, next try in 1000 ms/,
     'its wait is logged');

# a file waiting after its own failure is no backlog: no detour by disk

$r = post('/logger/direct', 'while /bad waits');
is($r->{status}, 200, '/direct while /bad waits: 200');
ok(!defined $r->{headers}{'x-trtc-spooled'},
   '/direct: proxied directly, not queued behind the refused one');
is(scalar(grep { $_->{path} eq '/direct' } records()), 1,
   '/direct went upstream once');

my @ids = map { header($_, 'X-Trtc-Upload-Id') }
          grep { $_->{path} eq '/bad' } records();
ok(@ids >= 2, '/bad went upstream twice (proxied, then replayed)');
like($ids[0], qr/^[0-9a-f]{32}$/, 'with an X-Trtc-Upload-Id');
is(scalar(grep { $_ eq $ids[0] } @ids), scalar @ids,
   'the same X-Trtc-Upload-Id every time');

# --- 103 Early Hints, then 500: not delivered

write_file($control, "/bad 500\n500\n");
$r = post('/logger/early', 'early hints');
is($r->{headers}{'x-trtc-spooled'}, '1', '/early: spooled');
write_file($control, "/bad 500\n/early early 500\n200\n");
wait_ok(sub { (grep { $_->{path} eq '/early' } records()) > 1 },
         '/early replayed', 10);
sleep 0.5;
ok(scalar(grep { /^\d+-\d+-\d+\.req$/ } dir_entries($sp{main})) == 2,
   '103 then 500: the upload stays spooled');
unlike($ng->log_text, qr/replayed to \S+ \(103\)/, 'a 103 is never a delivery');
write_file($control, "/bad 500\n200\n");
wait_ok(sub { grep { $_->{path} eq '/early' && $_->{status} == 200 }
               records() }, '/early delivered once it gets 200', 10);

# --- a 4xx: set aside as .rejected-NAME, counted

my $mark = $ng->log_mark;
write_file($control, "/bad 500\n500\n");
$r = post('/logger/rej', 'rejected');
is($r->{headers}{'x-trtc-spooled'}, '1', '/rej: spooled');
write_file($control, "/bad 500\n/rej 403\n200\n");
wait_ok(sub { grep { /^\.rejected-/ } dir_entries($sp{main}) },
         'a 403 on replay: set aside as .rejected-NAME', 10);
like($ng->log_since($mark), qr/\[warn\].*answered 403 to spooled "\d+-\d+-\d+\.req", set aside as "\.rejected-/,
     'logged with the status');
is(status_json('/status')->{logger}{uploads_rejected}, 1,
   'status: uploads_rejected 1');

# --- max_attempts=2: set aside after two failures

write_file($control, "500\n");
$r = post('/att/attx', 'attempts');
is($r->{headers}{'x-trtc-spooled'}, '1', '/att: spooled');
wait_ok(sub { grep { /^\.expired-/ } dir_entries($sp{att}) },
         'max_attempts=2: set aside as .expired-NAME', 10);
is(scalar(grep { $_->{path} eq '/attx' } records()), 3,
   'tried upstream three times: proxied, two replays');
like($ng->log_text, qr/failed \(status 500\), 2 attempts, set aside as "\.expired-/,
     'logged');

# --- max_age=2s: set aside once older

$r = post('/age/agex', 'too old');
is($r->{headers}{'x-trtc-spooled'}, '1', '/age: spooled');
wait_ok(sub { grep { /^\.expired-/ } dir_entries($sp{age}) },
         'max_age=2s: set aside as .expired-NAME', 10);
like($ng->log_text, qr/older than max_age \(2 s\)/, 'logged');

# --- planted files: 8 days old (the default max_age is 7 days), cut
# short, garbled; the good one after them goes through at once

write_file($control, "/bad 500\n200\n");
my $now = int(time * 1000);
my $old = $now - 8 * 86400 * 1000;
my $head = "Host: yun.test\r\nConnection: close\r\n";
plant("$old-1-000001.req",
      "POST /planted-old HTTP/1.1\r\n${head}Content-Length: 3\r\n\r\nold");
plant("$now-1-000001.req",
      "POST /truncated HTTP/1.1\r\n${head}Content-Length: 1000\r\n\r\n"
      . "only a little");
plant("$now-1-000002.req", "GARBAGE\r\n\r\n");
plant("$now-1-000003.req",
      "POST /after HTTP/1.1\r\n${head}Content-Length: 5\r\n\r\nafter");
$t0 = time;
wait_ok(sub { grep { $_->{path} eq '/after' && $_->{status} == 200 }
               records() }, 'the good file after the bad ones: delivered',
         8);
ok(time - $t0 < 5, 'without waiting on the bad ones');
ok(!grep({ $_->{path} =~ m{^/(truncated|planted-old)} } records()),
   'the cut and the old file never went upstream');
my %aside = map { $_ => 1 } dir_entries($sp{main});
ok($aside{".bad-$now-1-000001.req"}, 'the truncated file: .bad-');
ok($aside{".bad-$now-1-000002.req"}, 'the garbled file: .bad-');
ok($aside{".expired-$old-1-000001.req"}, 'the 8 day old file: .expired-');
like($ng->log_text, qr/not a whole HTTP request/, 'logged');

# --- the counters add up

my $st = status_json('/status')->{logger};
is($st->{uploads_damaged}, 2, 'status: uploads_damaged 2');
is($st->{uploads_expired}, 3, 'status: uploads_expired 3');
is($st->{uploads_rejected}, 1, 'status: uploads_rejected 1');
my $m =
    HTTP::Tiny->new->get("http://127.0.0.1:$port/metrics")->{content} // '';
like($m, qr/^trtc_logger_uploads_total\{result="rejected"\} 1$/m,
     'prometheus: rejected');
like($m, qr/^trtc_logger_uploads_total\{result="expired"\} 3$/m,
     'prometheus: expired');
like($m, qr/^trtc_logger_uploads_total\{result="damaged"\} 2$/m,
     'prometheus: damaged');

# --- the "upstream down" backoff: the three spools of a dead upstream, no
# new uploads after their first ones, are tried 1, 2, 4, 8... s apart (not
# once a tick, as while uploads queue behind their backlog)

my $secs = time - $started;
my $tries = () = $ng->log_text =~ /to 127\.0\.0\.1:$dead failed \(connect/g;
my $most = 3 * (int(log($secs) / log(2)) + 2);
ok($tries <= $most, sprintf('upstream down: %d tries in %.0f s by three '
                            . 'spools (at most %d)', $tries, $secs, $most));

# --- a restart: what the spool holds at start is backlog until tried; an
# upload right after the start queues behind it

ok($ng->stop, 'nginx stops for a restart');
my $then = int(time * 1000);
write_file("$sp{order}/.plant", "POST /restart-old HTTP/1.1\r\n$head"
                                . "Content-Length: 3\r\n\r\nold");
chown $uid, $gid, "$sp{order}/.plant" if defined $uid;
rename "$sp{order}/.plant", "$sp{order}/$then-1-000001.req"
    or die "rename: $!";
start_nginx() or BAIL_OUT('nginx did not restart: ' . $ng->log_tail(5));
$r = post('/order/restart-new', 'new');
is($r->{headers}{'x-trtc-spooled'}, '1',
   'right after the start: queued behind the file found there');
my $restarted = sub {
    [map { $_->{path} } grep { $_->{path} =~ m{^/restart-} } records()];
};
wait_ok(sub { @{ $restarted->() } >= 2 }, 'both arrive', 10);
is_deeply($restarted->(), [qw(/restart-old /restart-new)],
          'the file found at start first');

ok($ng->stop, 'nginx stops');
stop_upstream();
my @bad = grep { /\[(?:alert|crit|emerg)\]/ } split /^/, $ng->log_text;
ok(!@bad, 'no alert, crit, emerg') or diag(@bad);

# --- a full file system: ENOSPC named, 503

SKIP: {
    skip 'ENOSPC: needs root for a private mount namespace', 3
        unless $> == 0 && -x '/usr/bin/unshare';
    enospc();
}

done_testing();


sub plant {
    my ($name, $data) = @_;
    write_file("$sp{main}/.plant", $data);
    chown $uid, $gid, "$sp{main}/.plant" if defined $uid;
    rename "$sp{main}/.plant", "$sp{main}/$name" or die "rename: $!";
}

# A second nginx (master_process off, in the foreground) in its own mount
# namespace, where the spool is a 64k tmpfs: a 100k upload cannot fit.
sub enospc {
    my $d = "$dir/enospc";
    make_path("$d/spool");
    my $p = free_port();
    my $e = TrtcTest::Nginx->new(dir => $d, daemon => 0, master => 0,
                                 connections => 16);
    my $elog = $e->log;
    $e->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$p;
        location /logger/ {
            trtc_logger_pass http://127.0.0.1:$dead/;
            trtc_logger_spool $d/spool;
        }
    }
EOF
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDOUT, '>>', "$d/logs/stdout" or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        exec '/usr/bin/unshare', '-m', '--propagation', 'private', 'sh',
             '-c', 'mount -t tmpfs -o size=64k tmpfs "$1" && shift && exec "$@"',
             'sh', "$d/spool", $e->cmd
            or POSIX::_exit(127);
    }
    wait_for(5, sub { connects($p) });
    my $r = HTTP::Tiny->new(timeout => 10)->request('POST',
        "http://127.0.0.1:$p/logger/big", { content => 'x' x 100000 });
    stop_pid($pid, signal => 'QUIT', timeout => 10);
    is($r->{status}, 503, 'full file system: 503');
    my $text = slurp($elog);
    like($text, qr/\[crit\].*spooling to .*failed.*\(28: No space left on device\)/,
         'the log names ENOSPC') or diag(slurp("$d/logs/stdout"), $text);
    unlike($text, qr/Operation now in progress/, 'not EINPROGRESS');
}
