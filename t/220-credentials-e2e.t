# vi:filetype=perl
#
# The credentials file end to end: nginx (trtc_credentials) and turnd
# (credentials-file=) read the same file; credentials fetched over HTTP
# from trtc_turn_credentials and trtc_proxy_config authenticate an
# Allocate at turnd (our TrtcTest::Stun client and coturn's
# turnutils_uclient, UDP and TCP) and at coturn (Debian's turnserver with
# use-auth-secret and the same secret and realm).  Then, for nginx's
# mtime re-check and turnd's SIGHUP: rotating a secret, removing the old
# one, expired credentials, a broken file (both keep their credentials,
# turnd its allocations too) and a removed static user.
#
# A plain Test::More file: three servers share one sequence of file
# states, which the block format does not express.

use strict;
use warnings;

use Cwd qw(abs_path);
use Digest::SHA qw(hmac_sha1);
use File::Path qw(remove_tree);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Nginx;
use TrtcTest::Stun qw(rest_credentials);
use TrtcTest::Turn;
use TrtcTest::Util qw(free_port write_file slurp log_mark log_since
                      wait_for wait_ok);

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless TrtcTest::Nginx::modules();

# this file is about turnd and coturn together, whatever
# TRTC_TEST_TURN_SERVER says
$ENV{TRTC_TEST_TURN_SERVER} = 'turnd';
plan skip_all => TrtcTest::Turn::binary() . ' not built (make turnd)'
    unless -x TrtcTest::Turn::binary();

for my $tool (qw(turnserver turnutils_uclient turnutils_peer)) {
    plan skip_all => "$tool not installed (apt-get install coturn)"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

my $T0 = time;
my $nginx_started = 0;
my $REALM = 'e2e.trtc.test';

# distinct, so any of them in a log is found
my %S = map { $_ => sprintf('e2e-%s-%08x%08x', $_, rand 2**32, rand 2**32) }
        qw(A B C D);
my ($SUSER, $SPASS) = ('static', sprintf('spw-%08x', rand 2**32));

my $dir = abs_path('t') . '/servroot_220';
my $cred = "$dir/conf/credentials";

remove_tree($dir);

# As deployed: nginx workers run unprivileged and read the file through
# its group; turnd runs as root here.
my ($nuser, $gid) = ('', $));
if ($> == 0) {
    $gid = getgrnam('nogroup') // die "no group nogroup";
    $nuser = 'nobody nogroup';
}

my $ng = TrtcTest::Nginx->new(dir => $dir, workers => 2, user => $nuser);
my $nlog = $ng->log;
chmod 0755, $dir, "$dir/conf";

write_cred(<<"EOF");
# state 1: secret A signs
realm $REALM
secret $S{A}
user $SUSER $SPASS
EOF


# --- the servers ---------------------------------------------------------

my $peer_port = free_port(proto => 'udp');
my $upeer = TrtcTest::Turn::spawn('turnutils_peer', '-L', '127.0.0.1',
                                  '-p', $peer_port);

# no realm= here: the file's realm applies
my $turnd = TrtcTest::Turn->start(relay_span => 20, conf => <<"EOF");
credentials-file=$cred
allow-loopback-peers
EOF

# coturn, the reference, knows the secret A only (it takes one
# static-auth-secret)
my $coturn = do {
    local $ENV{TRTC_TEST_TURN_SERVER} = 'coturn';
    TrtcTest::Turn->start(relay_span => 20, conf => <<"EOF");
use-auth-secret
static-auth-secret=$S{A}
realm=$REALM
allow-loopback-peers
EOF
};

my $hport = free_port();
my ($tp, $cp) = ($turnd->port, $coturn->port);

$ng->write_conf(<<"EOF");
    trtc_credentials $cred;
    server {
        listen 127.0.0.1:$hport;
        location = /rest {
            trtc_turn_credentials turn=turn:127.0.0.1:$tp?transport=udp
                                  turn=turn:127.0.0.1:$tp?transport=tcp
                                  ttl=1h name=e2e;
        }
        location = /short {
            trtc_turn_credentials turn=turn:127.0.0.1:$tp ttl=3s name=short;
        }
        location = /proxy {
            trtc_proxy_config turn=turn:127.0.0.1:$tp policy=relay
                              name=sdk turn_server=object;
        }
        location = /coturn {
            trtc_turn_credentials turn=turn:127.0.0.1:$cp name=ref;
        }
    }
EOF

my $http = HTTP::Tiny->new(timeout => 3);

ok($ng->start, 'nginx starts') or BAIL_OUT('nginx did not start');
$nginx_started = 1;

END {
    # on failure, whatever happened: nginx's and coturn's logs (turnd's
    # is shown by TrtcTest::Turn); TrtcTest::Nginx stops nginx
    if (!Test::More->builder->is_passing) {
        diag("nginx error.log (last lines):\n" . $ng->log_tail(80));
        diag("coturn log (last lines):\n"
             . TrtcTest::Turn::tail($coturn->log, 80));
    }
}


# --- state 1: secret A, end to end ---------------------------------------

my $a1 = fetch('/rest');
is(signer($a1), 'A', '/rest: signed with secret A');
is_deeply($a1->{uris}, ["turn:127.0.0.1:$tp?transport=udp",
                        "turn:127.0.0.1:$tp?transport=tcp"],
          '/rest: the uris point at turnd');
is($a1->{ttl}, 3600, '/rest: ttl');

# the short ones now: they expire while the rest runs
my $short = fetch('/short');
my ($short_exp) = ($short->{username} // '') =~ /^(\d+):short$/;
ok(defined $short_exp && abs($short_exp - (time + 3)) <= 1,
   '/short: username EXPIRY:short, 3 s ahead');
my ($code, $short_c) = alloc($tp, 'udp', $short);
is($code, 200, 'turnd: ttl=3s credentials allocate while valid');

for my $uri (@{$a1->{uris} || []}) {
    my ($port, $proto) = $uri =~ /^turn:127\.0\.0\.1:(\d+)\?transport=(\w+)$/
        or next;
    my ($c, $cl) = alloc($port, $proto, $a1);
    is($c, 200, "turnd: /rest credentials allocate over $proto");
    is($cl->{realm}, $REALM, "turnd: $proto: realm from the credentials file");
}

my $px = fetch('/proxy');
my $ts = $px->{turnServer} || {};
is($px->{iceTransportPolicy}, 'relay', '/proxy: policy');
is($ts->{url}, "127.0.0.1:$tp", '/proxy: turnServer url points at turnd');
is($ts->{credentialType}, 'password', '/proxy: credentialType');
is(signer({ username => $ts->{username}, password => $ts->{credential} }),
   'A', '/proxy: signed with secret A');
{
    my ($h, $p) = split /:/, $ts->{url} // ':';
    is(alloc($p || 0, 'udp', { username => $ts->{username},
                               password => $ts->{credential} }),
       200, 'turnd: /proxy credentials allocate');
}

uclient_ok('turnd, udp', $tp, $a1);
uclient_ok('turnd, tcp', $tp, $a1, '-t');

# the reference: coturn takes what nginx hands out
my $r1 = fetch('/coturn');
is($r1->{uris}[0], "turn:127.0.0.1:$cp", '/coturn: the uri points at coturn');
is(signer($r1), 'A', '/coturn: signed with secret A');
is(alloc($cp, 'udp', $r1), 200, 'coturn: credentials from nginx allocate');
uclient_ok('coturn, udp', $cp, $r1);
uclient_ok('coturn, tcp', $cp, $r1, '-t');

is(alloc($tp, 'udp', { username => $SUSER, password => $SPASS }), 200,
   'turnd: the static user of the file allocates');
is(alloc($tp, 'udp', { username => $SUSER, password => "$SPASS-x" }), 401,
   'turnd: ... with a wrong password gets 401');

# a username whose expiry is past, signed with the right secret
{
    my %old;
    @old{qw(username password)} =
        rest_credentials($S{A}, 'e2e', int(time) - 60);
    is(alloc($tp, 'udp', \%old), 401, 'turnd: a past expiry gets 401');
    is(alloc($cp, 'udp', \%old), 401, 'coturn: a past expiry gets 401');
    # the same made with a future expiry works: the 401 is the expiry's
    @old{qw(username password)} =
        rest_credentials($S{A}, 'e2e', int(time) + 60);
    is(alloc($tp, 'udp', \%old), 200, 'turnd: ... a future one allocates');
}

# an allocation made with A, across the SIGHUPs below
my ($c0, $with_a) = alloc($tp, 'udp', $a1);
is($c0, 200, 'turnd: an allocation with A credentials');

# ttl=3s: new requests and the refresh of the allocation now fail
sleep 0.1 while time < $short_exp + 1.05;
is(alloc($tp, 'udp', $short), 401, 'turnd: expired ttl=3s credentials: 401');
is($short_c->refresh(600)->{code}, 401,
   'turnd: refreshing with expired credentials: 401');


# --- state 2: B added first; nginx re-checks, turnd on SIGHUP ------------

write_cred(<<"EOF");
# state 2: B signs, A still accepted
realm $REALM
secret $S{B}
secret $S{A}
user $SUSER $SPASS
EOF

wait_ok(sub { signer(fetch('/rest')) eq 'B' },
         'nginx: secret B signs after the file changed, no reload');
my $b1 = fetch('/rest');
is($b1->{password}, rest_password($S{B}, $b1->{username}),
   'nginx: the password is HMAC-SHA1 with B');
is(signer(fetch('/proxy'), 'proxy'), 'B', 'nginx: /proxy signs with B too');

is(alloc($tp, 'udp', $b1), 401, 'turnd before SIGHUP: B credentials: 401');
is(alloc($cp, 'udp', fetch('/coturn')), 401,
   'coturn (secret A only): B credentials: 401');

hup_ok('credentials reloaded: realm', 'rotation, B added');

is(alloc($tp, 'udp', $b1), 200, 'turnd: B credentials allocate');
is(alloc($tp, 'tcp', $b1), 200, 'turnd: ... over tcp');
uclient_ok('turnd after SIGHUP, udp', $tp, $b1);
is(alloc($tp, 'udp', $a1), 200, 'turnd: old A credentials still allocate');
is($with_a->refresh(600)->{code}, 200,
   'turnd: the allocation made before SIGHUP refreshes');
relay_ok($with_a, 'turnd: ... and relays');

# one that lives across every reload below: B stays in the file
my ($c2, $live) = alloc($tp, 'tcp', $b1);
is($c2, 200, 'turnd: a long-lived allocation with B credentials');


# --- state 3: A removed ---------------------------------------------------

my $mark = log_mark($nlog);
write_cred(<<"EOF");
# state 3: B only
realm $REALM
secret $S{B}
user $SUSER $SPASS
EOF

wait_ok(sub { fetch('/rest'); log_since($nlog, $mark) =~ /re-read: 1 / },
         'nginx: the file without A is re-read');
my $b2 = fetch('/rest');
is(signer($b2), 'B', 'nginx: B signs');

is(alloc($tp, 'udp', $a1), 200, 'turnd before SIGHUP: A still accepted');
hup_ok('credentials reloaded: realm', 'A removed');
is(alloc($tp, 'udp', $a1), 401, 'turnd: old A credentials now get 401');
is(alloc($tp, 'tcp', $a1), 401, 'turnd: ... over tcp too');
is(alloc($tp, 'udp', $b2), 200, 'turnd: B credentials allocate');
# every request is checked, a Refresh too
is($with_a->refresh(600)->{code}, 401,
   'turnd: refreshing the allocation made with A: 401');


# --- state 4: a broken file ----------------------------------------------

# allocations made before the broken reload, one per transport
my %held;
for my $proto ('udp', 'tcp') {
    my ($c, $cl) = alloc($tp, $proto, $b2);
    is($c, 200, "turnd: allocation over $proto before the broken file");
    $held{$proto} = $cl;
}

$mark = log_mark($nlog);
write_cred(<<"EOF");
# state 4: broken on line 4
realm $REALM
secret $S{C}
secrett $S{D}
user $SUSER $SPASS
EOF

wait_ok(sub { fetch('/rest'); log_since($nlog, $mark) =~ /not re-read/ },
         'nginx: the broken file is noticed');
like(log_since($nlog, $mark), qr/\Q$cred\E:4: /,
     'nginx: the error names the file and line');
my $b3 = fetch('/rest');
is(signer($b3), 'B', 'nginx: the old secret B still signs');

my $out = `@{[ $ng->cmd ]} -s reload 2>&1`;
isnt($?, 0, 'nginx -s reload refuses the broken file');
like($out, qr/\Q$cred\E:4: /, '... naming the file and line');
is(signer(fetch('/rest')), 'B',
   'nginx: B still signs after the refused reload');

my $tmark = log_mark($turnd->{log});
hup_ok('credentials not reloaded: ', 'broken file');
my $why = log_since($turnd->{log}, $tmark);
like($why, qr/credentials not reloaded: \Q$cred\E:4: /,
     'turnd: logs why, with file:line');
unlike($why, qr/\Q$S{C}\E|\Q$S{D}\E|\Q$S{B}\E/,
       'turnd: ... and no secret');

is(alloc($tp, 'udp', $b3), 200,
   'turnd: credentials nginx still hands out allocate');
is(alloc($tp, 'udp', { username => $SUSER, password => $SPASS }), 200,
   'turnd: the static user still allocates');
{
    my %c;
    @c{qw(username password)} =
        rest_credentials($S{C}, 'e2e', int(time) + 600);
    is(alloc($tp, 'udp', \%c), 401,
       'turnd: the broken file\'s secret C is not accepted');
}

for my $proto ('udp', 'tcp') {
    my $cl = $held{$proto} or next;
    is($cl->refresh(600)->{code}, 200,
       "turnd: the $proto allocation refreshes after the broken reload");
    relay_ok($cl, "turnd: the $proto allocation still relays");
}


# --- state 5: fixed, C first, the static user removed -------------------

write_cred(<<"EOF");
# state 5: C signs, B accepted, no static user
realm $REALM
secret $S{C}
secret $S{B}
EOF

wait_ok(sub { signer(fetch('/rest')) eq 'C' },
         'nginx: the fixed file is re-read, C signs');
my $c1 = fetch('/rest');

is(alloc($tp, 'udp', { username => $SUSER, password => $SPASS }), 200,
   'turnd before SIGHUP: the static user allocates');
hup_ok('credentials reloaded: realm', 'fixed, static user removed');
is(alloc($tp, 'udp', { username => $SUSER, password => $SPASS }), 401,
   'turnd: the removed static user gets 401');
is(alloc($tp, 'tcp', { username => $SUSER, password => $SPASS }), 401,
   'turnd: ... over tcp too');
is(alloc($tp, 'udp', $c1), 200, 'turnd: C credentials allocate');
is(alloc($tp, 'udp', $b3), 200, 'turnd: B credentials still allocate');
is($live->refresh(600)->{code}, 200,
   'turnd: the allocation made in state 2 survived every later SIGHUP');
relay_ok($live, 'turnd: ... and relays');


# --- secrets never logged; everything stops ------------------------------

my $secrets = join '|', map quotemeta, values(%S), $SPASS;
unlike(slurp($nlog), qr/$secrets/, 'nginx: no secret or password in its log');
unlike($turnd->log, qr/$secrets/, 'turnd: no secret or password in its log');

ok($turnd->alive, 'turnd still running');
$turnd->stop_ok;
ok($coturn->alive, 'coturn still running');
$coturn->stop(quiet => 1);
$upeer->stop;

my $took = time - $T0;
cmp_ok($took, '<', 90, 'the whole file took under 90 s')
    or diag(sprintf 'took %.1f s', $took);

done_testing();


# --- helpers -------------------------------------------------------------

# Allocate with a fresh client: the code (200, 401, undef for none), and
# in list context the client, to use the allocation.
sub alloc {
    my ($port, $proto, $cr) = @_;
    my $cl = eval {
        TrtcTest::Stun->new(proto => $proto, port => $port,
                            user => $cr->{username} // '',
                            pass => $cr->{password} // '', timeout => 2);
    } or do { diag($@); return };
    my $r = $cl->allocate;
    return ($r->{code}, $cl) if wantarray;
    # not kept: free its relay port (a Refresh with lifetime 0)
    $cl->refresh(0) if ($r->{code} // 0) == 200;
    $cl->close;
    return $r->{code};
}

# CreatePermission + Send to a loopback peer, which must get it from the
# relay address, and its answer must come back as Data.
sub relay_ok {
    my ($cl, $name) = @_;
    my $peer = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                     Proto => 'udp') or die "peer: $!";
    my $pport = $peer->sockport;
    my $msg = sprintf 'ping-%08x', rand 2**32;
    my ($perm, $got, $from, $back) = ($cl->create_permission('127.0.0.1'));
    if (($perm->{code} // 0) == 200) {
        $cl->send_indication('127.0.0.1', $pport, $msg);
        if (IO::Select->new($peer)->can_read(2)) {
            my $addr = $peer->recv($got, 2048);
            my ($fport, $fip) = Socket::unpack_sockaddr_in($addr);
            $from = Socket::inet_ntoa($fip) . ":$fport";
            $peer->send("pong-$got", 0, $addr);
            ($back) = $cl->recv_data(2);
        }
    }
    my $ok = ok(($perm->{code} // 0) == 200 && ($got // '') eq $msg
                && ($from // '') eq "$cl->{relay_ip}:$cl->{relay_port}"
                && ($back // '') eq "pong-$msg", $name);
    diag("CreatePermission " . ($perm->{code} // 'no answer')
         . ", peer got " . ($got // 'nothing') . " from " . ($from // '-')
         . " (relay $cl->{relay_ip}:$cl->{relay_port}), client got "
         . ($back // 'nothing')) unless $ok;
    return $ok;
}

# coturn's turnutils_uclient with -u/-w from fetched credentials, data
# echoed by turnutils_peer: every message must come back.
sub uclient_ok {
    my ($name, $port, $cr, @args) = @_;
    my ($n, $m) = (20, 2);
    my $r = TrtcTest::Turn::run(30, 'turnutils_uclient',
        '-p', $port, '-e', '127.0.0.1', '-r', $peer_port,
        '-n', $n, '-m', $m, '-l', 120, '-z', 5, '-X',
        '-u', $cr->{username} // '', '-w', $cr->{password} // '',
        @args, '127.0.0.1');
    my $o = $r->{out};
    my ($sent, $recv) = $o =~ /tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$/m;
    my ($lost) = $o =~ /Total lost packets (\d+)/;
    my $ok = !$r->{timed_out} && $r->{rc} == 0 && $o !~ /ERROR/
        && defined $sent && $sent >= $n * $m && $recv == $sent
        && defined $lost && $lost == 0;
    ok($ok, "turnutils_uclient: $name, -u/-w from nginx, all came back")
        or diag("$r->{cmd}\nrc=$r->{rc} timed_out=$r->{timed_out}\n"
                . TrtcTest::Turn::tail($o, 25));
}

# SIGHUP to turnd, then its log says what the reload did
sub hup_ok {
    my ($expect, $name) = @_;
    my $pos = log_mark($turnd->{log});
    kill 'HUP', $turnd->{pid} or die "turnd is gone";
    wait_for(5, sub { log_since($turnd->{log}, $pos) =~ /\Q$expect\E/ });
    like(log_since($turnd->{log}, $pos), qr/\Q$expect\E/,
         "turnd: SIGHUP ($name) logs \"$expect\"");
}

sub fetch {
    my ($uri) = @_;
    my $res = $http->get("http://127.0.0.1:$hport$uri");
    unless ($res->{status} == 200) {
        diag("GET $uri: $res->{status} $res->{reason}");
        return {};
    }
    return eval { decode_json($res->{content}) } || {};
}

sub rest_password {
    my ($secret, $user) = @_;
    return encode_base64(hmac_sha1($user, $secret), '');
}

# which secret signed these credentials ('' if none); $kind 'proxy' for
# the trtc_proxy_config shape
sub signer {
    my ($j, $kind) = @_;
    if (($kind // '') eq 'proxy') {
        $j = { username => $j->{turnServer}{username},
               password => $j->{turnServer}{credential} };
    }
    return '' unless defined $j->{username} && defined $j->{password};
    for my $k (sort keys %S) {
        return $k if rest_password($S{$k}, $j->{username}) eq $j->{password};
    }
    return '';
}

sub write_cred {
    my ($text) = @_;

    # write and rename, as an operator should
    write_file("$cred.tmp", $text);
    chown $>, $gid, "$cred.tmp";
    chmod 0640, "$cred.tmp";
    rename "$cred.tmp", $cred or die "rename: $!";

    # nginx's workers each check at most once a second: after this every
    # one of them checks again on its next request
    sleep 1.1 if $nginx_started;
}
