# vi:filetype=perl
#
# trtc_signaling_pass with real WebSocket peers nobody here wrote (Debian's
# python3-websockets): a TLS echo server with the signaling.test
# certificate (t/ws/ws_server.py) behind nginx, and a client
# (t/ws/ws_client.py) sending text and binary messages of 1 byte to 64 KiB
# through ws://127.0.0.1:PORT/ws/.  Checked: every echo byte for byte; the
# server saw Host signaling.test, SNI signaling.test and X-Forwarded-For.
#
# Then a session that stays quiet for 65 s, longer than nginx's stock 60 s
# proxy_read_timeout, still echoes through trtc_signaling_pass, while the
# same session through a hand-written proxy_pass block without a raised
# timeout is cut (so this test can fail).  The two run side by side: this
# file takes about 70 s.  TEST_TRTC_SKIP_SLOW=1 skips that part.
#
# A plain Test::More file: it starts its own nginx and peers and stops
# them by pid.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Nginx;
use TrtcTest::Util qw(free_port slurp stop_pid);

my $python = '/usr/bin/python3';   # Debian's, with python3-websockets

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless TrtcTest::Nginx::modules();
plan skip_all => "$python with python3-websockets is needed"
    unless system("$python -c 'import websockets' 2>/dev/null") == 0;

my $t = dirname(abs_path(__FILE__));
my $certs = "$t/cert";
my $dir = "$t/servroot_310";
my $record = "$dir/ws-record.jsonl";

remove_tree($dir);
my $ng = TrtcTest::Nginx->new(dir => $dir);
my $log = $ng->log;

my $port = free_port();
my $wss = free_port();

# /ws/: the directive.  /plain/: what a hand-written block typically
# looks like (the tutorial's), with nginx's default 60 s read timeout.
$ng->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$port;
        location /ws/ {
            trtc_signaling_pass https://127.0.0.1:$wss/ host=signaling.test
                                ca=$certs/ca.crt;
        }
        location /plain/ {
            proxy_pass https://127.0.0.1:$wss/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection upgrade;
            proxy_set_header Host signaling.test;
            proxy_ssl_server_name on;
            proxy_ssl_name signaling.test;
        }
    }
EOF

my %children;       # pid => what, for the peers we started

END {
    local $?;
    stop_child($_) for keys %children;
}

start_child('ws server', "$dir/logs/ws-server.log", 1,
            "$t/ws/ws_server.py", '--port', $wss,
            '--cert', "$certs/signaling.test.crt",
            '--key', "$certs/signaling.test.key",
            '--record', $record, '--lifetime', 300);

ok($ng->start, 'nginx starts') or BAIL_OUT('nginx did not start');

# --- messages of every size through the directive, 3 sessions at once

my $res = client(30, '--url', "ws://127.0.0.1:$port/ws/echo?room=1",
                 '--sessions', 3, '--header', 'X-Forwarded-For: 10.1.2.3');
ok($res->{ok}, 'every echo came back byte for byte')
    or diag(explain($res));
ok($res->{messages} > 0 && $res->{messages} == $res->{expected},
   "all $res->{expected} messages of 3 sessions echoed");

my @rec = records();
is(scalar @rec, 3, 'the server saw 3 sessions');
for my $r (@rec) {
    is($r->{path}, '/echo?room=1', 'path and query under the URL\'s path');
    is($r->{host}, 'signaling.test', 'Host: signaling.test');
    is($r->{sni}, 'signaling.test', 'SNI: signaling.test');
    is($r->{xff}, '10.1.2.3, 127.0.0.1', 'X-Forwarded-For');
}

# --- a quiet session: kept by the directive, cut by the stock block

SKIP: {
    skip 'TEST_TRTC_SKIP_SLOW is set', 6 if $ENV{TEST_TRTC_SKIP_SLOW};

    my $mark = $ng->log_mark;
    my $kept = client_bg('--url', "ws://127.0.0.1:$port/ws/quiet",
                         '--quiet', 65);
    my $cut = client_bg('--url', "ws://127.0.0.1:$port/plain/quiet",
                        '--quiet', 65);
    my $r1 = client_wait($kept, 100);
    my $r2 = client_wait($cut, 100);

    ok($r1->{ok}, 'after 65 s of quiet the session still echoes')
        or diag(explain($r1));
    is($r1->{messages}, $r1->{expected}, 'all its messages echoed');
    is($r2->{quiet}, 1, 'the stock block works until the quiet')
        or diag(explain($r2));
    ok(!$r2->{ok} && $r2->{messages} == 0,
       'the same through the stock 60 s timeout is cut')
        or diag(explain($r2));
    like("@{ $r2->{errors} }", qr/ConnectionClosed/,
         'the client saw the connection closed');
    like($ng->log_since($mark),
         qr/upstream timed out .* while proxying upgraded connection.*"GET \/plain\/quiet/,
         'nginx says the stock block timed out');
}

# --- the end

my $text = slurp($log);
unlike($text, qr/\[(?:alert|crit|emerg)\]/, 'no alert, crit, emerg in the log')
    or diag($text);
my @errors = grep { /\[error\]/ && !m{/plain/quiet} } split /^/, $text;
ok(!@errors, 'no error in the log but the stock block\'s timeout')
    or diag(@errors);
ok($ng->stop, 'nginx stops');

done_testing();


# --- helpers

sub records {
    return map { decode_json($_) } grep { /\S/ } split /\n/, slurp($record);
}

# Runs a python script with stdout to a pipe and stderr to $errlog; with
# $ready, waits (10 s at most) for its "ready" line.  Returns (pid, fh).
sub start_child {
    my ($what, $errlog, $ready, @args) = @_;
    pipe my $r, my $w or die "pipe: $!";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        close $r;
        open STDOUT, '>&', $w or die "stdout: $!";
        open STDERR, '>>', $errlog or die "stderr: $!";
        exec $python, @args;
        die "exec $python: $!";
    }
    close $w;
    $children{$pid} = $what;
    return ($pid, $r) unless $ready;
    my $line = read_line($r, 10);
    close $r;
    BAIL_OUT("$what did not start: " . slurp($errlog))
        unless $line =~ /^ready/;
    return ($pid);
}

# Reads one line from $fh within $max seconds ('' if none).
sub read_line {
    my ($fh, $max) = @_;
    my ($buf, $deadline) = ('', time + $max);
    my $rin = '';
    vec($rin, fileno $fh, 1) = 1;
    while ($buf !~ /\n/ && (my $left = $deadline - time) > 0) {
        last unless select(my $rout = $rin, undef, undef, $left);
        last unless sysread $fh, $buf, 65536, length $buf;
    }
    return $buf;
}

sub client_bg {
    my @args = @_;
    return [start_child('ws client', "$dir/logs/ws-client.log", 0,
                        "$t/ws/ws_client.py", @args)];
}

# The client's JSON result, or a failed result if it says nothing in
# $max seconds (it is then killed).
sub client_wait {
    my ($c, $max) = @_;
    my ($pid, $fh) = @$c;
    my $line = read_line($fh, $max);
    close $fh;
    stop_child($pid);
    my $res = eval { decode_json($line) };
    return $res if $res;
    return { ok => 0, messages => 0, expected => -1,
             errors => ["no result in $max s: '$line'; stderr: "
                        . slurp("$dir/logs/ws-client.log")] };
}

sub client {
    my ($max, @args) = @_;
    return client_wait(client_bg(@args), $max);
}

sub stop_child {
    my $pid = shift;
    stop_pid($pid, timeout => 5) if delete $children{$pid};
}
