# vi:filetype=perl
#
# trtc_credentials: the file is re-read when it changes (a rotated secret
# signs without a reload), a broken file keeps the credentials in use and
# says why, and a reload with a broken file is refused.  A plain
# Test::More file: nginx runs with a master and two workers for the whole
# sequence, which the block format does not express.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha1_base64);
use File::Path qw(remove_tree);
use HTTP::Tiny;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Nginx;
use TrtcTest::Util qw(free_port write_file slurp wait_ok);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless TrtcTest::Nginx::modules();

my $dir = abs_path('t') . "/servroot_210";
my $cred = "$dir/conf/credentials";

remove_tree($dir);

my $port = free_port();

# As deployed: workers run as an unprivileged user and read the file
# through its group (0640 root:nogroup), never through "others".
my ($user, $gid) = ('', $));
if ($> == 0) {
    $gid = getgrnam('nogroup') // die "no group nogroup";
    $user = 'nobody nogroup';
}

my $ng = TrtcTest::Nginx->new(dir => $dir, workers => 2, user => $user);
my $log = $ng->log;
$ng->write_conf(<<"EOF");
    trtc_credentials credentials;
    server {
        listen 127.0.0.1:$port;
        location = /rest {
            trtc_turn_credentials turn=turn:127.0.0.1:3478 name=rot;
        }
    }
EOF

my @nginx = $ng->cmd;

my $http = HTTP::Tiny->new(timeout => 3);

# --- start with secret A, served

write_cred("secret AAAA\n");
chmod 0755, $dir, "$dir/conf";

ok($ng->start, 'nginx starts') or BAIL_OUT("nginx did not start");

wait_ok(sub { signer() eq 'AAAA' }, 'secret A signs at start');

unlike(slurp($log), qr/accessible by others/, 'a 0640 file draws no warning');
unlike(slurp($log), qr/cannot read/, 'the workers can read it');

# --- rotate: B first, A still listed (turnd accepts both); no reload

write_cred("secret BBBB\nsecret AAAA\n", 0644);

wait_ok(sub { signer() eq 'BBBB' }, 'rotated secret B signs, no reload');

like(slurp($log), qr/\[notice\].*credentials file "\Q$cred\E" re-read: 2 /,
     're-read logged at notice');
like(slurp($log), qr/\[warn\].*"\Q$cred\E" is accessible by others/,
     'a file others can read draws a warning on re-read');
unlike(slurp($log), qr/BBBB|AAAA/, 'no secret in the log');

# --- a broken file: the old credentials stay, the log says where

my $mark = $ng->log_mark;
write_cred("secret CCCC\nsecrett DDDD\n");

wait_ok(sub { request(); $ng->log_since($mark) =~ /not re-read/ },
         'a broken file is noticed');

like($ng->log_since($mark),
     qr/\[error\].*credentials file not re-read: \Q$cred\E:2: .*the credentials loaded before stay in use/,
     'error names the file and line of the mistake');
unlike($ng->log_since($mark), qr/CCCC|DDDD|BBBB/, 'no secret in the error');
is(signer(), 'BBBB', 'the old secret B still signs');

# the next change is tried again: fixed, C signs

write_cred("secret CCCC\n");
wait_ok(sub { signer() eq 'CCCC' }, 'the fixed file is re-read, C signs');

# --- a file without a secret is refused at run time, too

$mark = $ng->log_mark;
write_cred("realm trtc\nuser turn turn\n");

wait_ok(sub { request(); $ng->log_since($mark) =~ /not re-read/ },
         'a file without a secret is noticed');
like($ng->log_since($mark), qr/\[error\].*has no "secret" line/,
     'says the secret is missing');
is(signer(), 'CCCC', 'C still signs');

# --- the file vanishes: the old set stays, said once

$mark = $ng->log_mark;
rename $cred, "$cred.away" or die "rename: $!";

wait_ok(sub { request(); $ng->log_since($mark) =~ /stat\(\) .* failed/ },
         'a missing file is noticed');
is(signer(), 'CCCC', 'C still signs without the file');
sleep 1.1;
request();
my $n = () = $ng->log_since($mark) =~ /stat\(\) .* failed/g;
is($n, 1, 'the missing file is logged once, not once a second');

rename "$cred.away", $cred or die "rename: $!";

# --- nginx -t and reload refuse a broken file

write_cred("secret EEEE\nbogus line\n");

my $out = `@nginx -t 2>&1`;
isnt($?, 0, 'nginx -t fails on a broken file');
my @conf = split /\n/, slurp($ng->conf_file);
my ($line) = grep { $conf[$_ - 1] =~ /^\s*trtc_credentials / } 1 .. @conf;
like($out, qr/\[emerg\].*\Q$cred\E:2: .* in \Q$dir\E\/conf\/nginx\.conf:$line\n/,
     "nginx -t names the file:line and the directive's line ($line)");
unlike($out, qr/EEEE/, 'no secret in nginx -t output');

# "nginx -s reload" parses the configuration first and refuses to signal
$out = `@nginx -s reload 2>&1`;
isnt($?, 0, 'nginx -s reload refuses a broken file');
like($out, qr/\Q$cred\E:2: /, 'and names the file and line');

# a SIGHUP sent some other way: the master keeps the running workers
$mark = $ng->log_mark;
kill 'HUP', $ng->pid;

wait_ok(sub { $ng->log_since($mark) =~ /\[emerg\]/ }, 'the reload is refused');
like($ng->log_since($mark), qr/\[emerg\].*\Q$cred\E:2: /,
     'the refused reload names the file and line');
is(signer(), 'CCCC', 'old credentials still served after the refused reload');

# --- a reload with a good file loads it in the new workers; a file the
# workers cannot read (0600 root) works, but they say they cannot re-read it

$mark = $ng->log_mark;
write_cred("secret FFFF\n", 0600, 0);
is(system(@nginx, '-s', 'reload'), 0, 'reload signal sent');
wait_ok(sub { signer() eq 'FFFF' }, 'after a reload, F signs');

SKIP: {
    skip 'workers run as the file owner when not root', 1 unless $user;
    wait_ok(sub { $ng->log_since($mark) =~ /\[warn\].*worker processes cannot read credentials file/ },
             'workers that cannot read the file say so');
}

done_testing();


sub write_cred {
    my ($text, $mode, $group) = @_;

    # write and rename, as an operator should; mtime+size+inode change
    write_file("$cred.tmp", $text);
    chown $>, $group // $gid, "$cred.tmp";
    chmod $mode // 0640, "$cred.tmp";
    rename "$cred.tmp", $cred or die "rename: $!";
}

sub request {
    my $res = $http->get("http://127.0.0.1:$port/rest");
    return $res->{status} == 200 ? decode_json($res->{content}) : undef;
}

# which of the secrets we ever used signed the answer ('' if none)
sub signer {
    my $j = request() or return '';

    for my $s (qw(AAAA BBBB CCCC DDDD EEEE FFFF)) {
        my $want = hmac_sha1_base64($j->{username}, $s) . '=';
        return $s if $want eq $j->{password};
    }

    return '';
}

