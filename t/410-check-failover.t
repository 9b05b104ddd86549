# vi:filetype=perl
#
# trtc_check in time, with real servers nobody here wrote, through one
# nginx with master_process on and two workers:
#
#   type   peers (two primaries and a backup of each)
#   tcp    python3 -m http.server
#   http   nginx (Debian's, without the module)
#   https  nginx with TLS (signaling.test, two intermediates)
#   tls    openssl s_server (yun.test)
#   wss    t/ws/ws_server.py (python3-websockets) over TLS
#   stun   build/turnd, coturn's turnserver (the reference), turnd backup
#
# For each type: stop the first primary, and within interval x fails plus
# the timeout (measured, asserted) the status says it is down and every
# request goes to the second; stop that one too and the backup takes every
# request; start the first again and within passes checks it is back and
# takes the requests from the backup; start the second.  Requests go
# through "proxy_next_upstream off" and report $upstream_addr, so a
# request sent to a dead peer shows (502); for stun, trtc_turn_credentials
# and trtc_proxy_config must list only the peers that answer.
#
# In the middle of the http scenario, nginx -s reload (HUP): right after it
# the new workers still see the dead peer down, with its history, before
# any new check (an upstream zone is rebuilt by the reload: that upstream
# is checked too).  Later a reload that nginx refuses (a port in use) must
# not lose the state of the peers it left out either.  A SIGSTOPped turnd (silent, not refused) goes down by
# timeouts.  Two workers probe each peer once per interval, not twice.
# Headless Chromium renders the HTML status page (the PNG is left in
# t/servroot_410/status.png).
#
# Then "nginx -s quit" with checks at a long interval, and probes in flight
# to a black-holed and a silent peer, must return within 1 s, cleanly.
#
# A plain Test::More file: it starts its own nginx and peers, stops them by
# pid, and uses loopback only.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree make_path);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Socket qw(SOL_SOCKET SO_REUSEADDR PF_INET SOCK_STREAM inet_aton
              pack_sockaddr_in unpack_sockaddr_in);
use Test::More;
use Time::HiRes qw(sleep time);

use TrtcTest::Nginx;
use TrtcTest::Util qw(free_port write_file slurp wait_for alive fork_exec
                      stop_pid);

my @modules = TrtcTest::Nginx::modules();
my $python = '/usr/bin/python3';   # Debian's, with python3-websockets
my $chromium = '/usr/lib/chromium/chromium';
my $coturn = '/usr/bin/turnserver';

my $t = dirname(abs_path(__FILE__));
my $root = dirname($t);
my $turnd = "$root/build/turnd";
my $certs = "$t/cert";
my $dir = "$t/servroot_410";

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set (make test sets it)'
    unless @modules;
plan skip_all => "$turnd is not built (make turnd)" unless -x $turnd;
plan skip_all => "$python with python3-websockets is needed"
    unless system("$python -c 'import websockets' 2>/dev/null") == 0;
plan skip_all => "$coturn is needed (apt-get install coturn)"
    unless -x $coturn;

# The check of every upstream here, and the bounds it implies (README: a
# dead peer is skipped within about interval x fails + timeout).  jitter
# spreads each interval by +-10 %; a timer that finds another worker's
# probe due waits up to 50 ms more; 0.4 s for the load of a shared CI
# machine and for polling.
my %C = (interval => 0.3, timeout => 0.25, fails => 2, passes => 2);
my $check = sprintf 'interval=%dms timeout=%dms fails=%d passes=%d',
    $C{interval} * 1000, $C{timeout} * 1000, $C{fails}, $C{passes};
my $down_bound = $C{fails} * ($C{interval} * 1.1 + 0.05) + $C{timeout} + 0.4;
my $up_bound = $C{passes} * ($C{interval} * 1.1 + 0.05) + $C{timeout} + 0.4;

remove_tree($dir);
make_path("$dir/logs", "$dir/www");

my (%procs, @timings);   # name => {pid, cmd, log}; what was measured


# --- processes ---------------------------------------------------------------

sub spawn {
    my ($name, @cmd) = @_;
    my $log = "$dir/logs/$name.log";
    # appended to: a restarted peer's earlier runs stay in its log
    my $pid = fork_exec({ out => $log, append => 1 }, @cmd);
    $procs{$name} = { pid => $pid, cmd => \@cmd, log => $log };
    return $pid;
}

# TERM (or the signal given), reaped; KILL after 3 s.
sub stop {
    my ($name, $sig) = @_;
    my $p = $procs{$name} or return;
    my $pid = delete $p->{pid} or return;
    stop_pid($pid, signal => $sig // 'TERM', timeout => 3);
}

sub restart {
    my $name = shift;
    spawn($name, @{ $procs{$name}{cmd} });
}

END {
    local $?;   # keep Test::More's exit status
    # a SIGSTOPped peer first gets its SIGCONT, or it never exits
    for my $p (values %procs) {
        kill 'CONT', $p->{pid} if $p->{pid};
    }
    stop($_) for keys %procs;
}

sub tcp_ready {
    my $port = shift;
    wait_for(10, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 0.2)
    });
}

# A STUN Binding request over UDP answered by a success with our id
sub stun_binding {
    my ($port, $timeout) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Proto => 'udp') or return 0;
    my $tid = join '', map { chr int rand 256 } 1 .. 12;
    $s->send(pack('nnN', 0x0001, 0, 0x2112A442) . $tid);
    return 0 unless IO::Select->new($s)->can_read($timeout // 0.2);
    my $buf = '';
    $s->recv($buf, 1500) // return 0;
    return length($buf) >= 20 && unpack('n', $buf) == 0x0101
           && substr($buf, 8, 12) eq $tid;
}

sub stun_ready {
    my $port = shift;
    wait_for(15, sub { stun_binding($port) });
}

# --- peers -------------------------------------------------------------------

my %port;   # peer name => port; a peer is TYPE1, TYPE2 or TYPEb

for my $type (qw(tcp http https tls wss stun)) {
    # turnd and coturn listen on UDP and TCP
    my $proto = $type eq 'stun' ? 'both' : 'tcp';
    $port{"$type$_"} = free_port(proto => $proto) for qw(1 2 b);
}
$port{$_} = free_port() for qw(front quit single);

write_file("$dir/www/health", "ok\n");

# Debian's nginx, without the module: http or https, answering its name
sub nginx_peer {
    my ($name, $ssl) = @_;
    my $d = "$dir/$name";
    make_path($d);
    my $tls = $ssl ? " ssl;\n        ssl_certificate $certs/signaling.test.crt;"
                     . "\n        ssl_certificate_key $certs/signaling.test.key"
                   : '';
    my $ng = TrtcTest::Nginx->new(dir => $d, modules => 0, daemon => 0,
                                  master => 0, log_level => 'notice');
    $ng->write_conf(<<"EOF");
    server {
        listen 127.0.0.1:$port{$name}$tls;
        location = /health { return 200 "ok\\n"; }
        location / { return 200 "$name\\n"; }
    }
EOF
    spawn($name, $ng->cmd);
}

sub python_peer {
    my $name = shift;
    spawn($name, $python, '-m', 'http.server', '--bind', '127.0.0.1',
          '--directory', "$dir/www", $port{$name});
}

sub s_server_peer {
    my $name = shift;
    spawn($name, 'openssl', 's_server', '-quiet', '-www',
          '-accept', "127.0.0.1:$port{$name}",
          '-cert', "$certs/yun.test.crt", '-key', "$certs/yun.test.key");
}

sub wss_peer {
    my $name = shift;
    spawn($name, $python, "$t/ws/ws_server.py", '--port', $port{$name},
          '--cert', "$certs/signaling.test.crt",
          '--key', "$certs/signaling.test.key",
          '--record', "$dir/logs/$name.record", '--lifetime', 600);
}

sub turn_conf {
    my ($name, $coturn) = @_;
    my $d = "$dir/$name";
    make_path($d);
    my $relay = free_port(proto => 'udp', n => 21, range => [40000, 60000]);
    write_file("$d/turn.conf", join "\n",
        'listening-ip=127.0.0.1', "listening-port=$port{$name}",
        'relay-ip=127.0.0.1', "min-port=$relay",
        'max-port=' . ($relay + 20), 'realm=x', 'lt-cred-mech', 'user=u:p',
        'no-tls', 'no-dtls', "pidfile=$d/turn.pid", "log-file=$d/turn.log",
        $coturn ? ('no-cli', 'simple-log') : (), '');
    return "$d/turn.conf";
}

sub turnd_peer {
    my $name = shift;
    spawn($name, $turnd, '-c', turn_conf($name, 0));
}

sub coturn_peer {
    my $name = shift;
    spawn($name, $coturn, '-c', turn_conf($name, 1));
}

my %start = (
    tcp1 => \&python_peer, tcp2 => \&python_peer, tcpb => \&python_peer,
    http1 => \&nginx_peer, http2 => \&nginx_peer, httpb => \&nginx_peer,
    https1 => sub { nginx_peer(shift, 1) },
    https2 => sub { nginx_peer(shift, 1) },
    httpsb => sub { nginx_peer(shift, 1) },
    tls1 => \&s_server_peer, tls2 => \&s_server_peer,
    tlsb => \&s_server_peer,
    wss1 => \&wss_peer, wss2 => \&wss_peer, wssb => \&wss_peer,
    stun1 => \&turnd_peer, stun2 => \&coturn_peer, stunb => \&turnd_peer,
);

sub ready {
    my $name = shift;
    return $name =~ /^stun/ ? stun_ready($port{$name})
                            : tcp_ready($port{$name});
}

$start{$_}->($_) for sort keys %start;
ok(ready($_), "peer $_ is ready") for sort keys %start;


# --- the nginx under test ----------------------------------------------------

write_file("$dir/cred", "realm x\nsecret s3cr3t-410\n");
chmod 0600, "$dir/cred";

# %o: no_http => leave out the http upstreams (and their locations),
# steal => also listen on the port of that peer (held by another process)
sub front_conf {
    my ($gen, %o) = @_;
    my $ups = '';
    for my $type (qw(tcp http https tls wss stun)) {
        my %param = (
            tcp => '', http => 'uri=/health', stun => '',
            https => "uri=/health host=signaling.test ca=$certs/ca.crt",
            tls => "host=yun.test ca=$certs/ca.crt",
            wss => "host=signaling.test ca=$certs/ca.crt uri=/check",
        );
        next if $o{no_http} && $type eq 'http';
        for my $zone ('', 'z') {
            next if $zone && $type ne 'http';
            $ups .= "    upstream $zone$type {\n"
                . ($zone ? "        zone $zone$type 64k;\n" : '')
                . "        server 127.0.0.1:$port{\"${type}1\"};\n"
                . "        server 127.0.0.1:$port{\"${type}2\"};\n"
                . "        server 127.0.0.1:$port{\"${type}b\"} backup;\n"
                . "        trtc_check type=$type $check $param{$type};\n"
                . "    }\n";
        }
    }
    my $http_locations = $o{no_http} ? '' : <<"EOF";
        location /http/ { proxy_pass http://http; }
        location /zhttp/ { proxy_pass http://zhttp; }
EOF
    my $steal = $o{steal} ? "    server { listen 127.0.0.1:$port{$o{steal}}; }"
                          : '';
    return <<"EOF";
    trtc_credentials $dir/cred;

$ups
    server {
        listen 127.0.0.1:$port{front};
        proxy_next_upstream off;
        proxy_connect_timeout 2s;
        proxy_read_timeout 5s;
        proxy_ssl_verify off;
        add_header X-Up \$upstream_addr always;

        location = /st { trtc_status; }
        location = /gen { return 200 "$gen\\n"; }
        location /tcp/ { proxy_pass http://tcp; }
$http_locations
        location /https/ { proxy_pass https://https; }
        location /tls/ { proxy_pass https://tls; }
        location /wss/ { proxy_pass https://wss; }
        location = /turn { trtc_turn_credentials turn=stun; }
        location = /proxy { trtc_proxy_config turn=stun; }
    }
$steal
EOF
}

# The nginx under test; two more (quit, single) at the end.
my %front = map {
    $_ => TrtcTest::Nginx->new(dir => $dir, name => $_, workers => 2,
                               user => 'root', log_level => 'notice',
                               connections => $_ eq 'nginx' ? 1024 : 64,
                               master => $_ ne 'single')
} qw(nginx quit single);

sub start_front {
    my ($conf, $name) = @_;
    $front{$name}->write_conf($conf);
    return $front{$name}->start;
}

sub front_pid {
    return $front{shift // 'nginx'}->pid;
}

ok(start_front(front_conf(1), 'nginx'), 'nginx starts')
    or BAIL_OUT('nginx did not start: ' . $front{nginx}->log_text);

my $http = HTTP::Tiny->new(timeout => 5, keep_alive => 0);

sub get {
    my $path = shift;
    return $http->get("http://127.0.0.1:$port{front}$path");
}

sub status {
    my $r = get('/st');
    return undef unless $r->{status} == 200;
    return eval { decode_json($r->{content}) };
}

sub peer {
    my ($st, $ups, $name) = @_;
    return undef unless $st;
    for my $p (@{ $st->{upstreams}{$ups}{peers} || [] }) {
        return $p if $p->{name} eq "127.0.0.1:$port{$name}";
    }
    return undef;
}

# Polls the status until the peer is in that state; the seconds it took.
# On the way, a peer must not change state before fails (passes) checks
# in a row said so.
my @early;

sub time_to_state {
    my ($ups, $name, $state, $t0, $limit) = @_;
    my $end = $t0 + $limit;
    while (time < $end) {
        my $p = peer(status(), $ups, $name);
        next unless $p;
        push @early, "$ups $name down after $p->{consecutive_fails} fails"
            if $state eq 'down' && $p->{state} eq 'down'
               && $p->{consecutive_fails} < $C{fails};
        push @early, "$ups $name up after $p->{consecutive_passes} passes"
            if $state eq 'up' && $p->{state} eq 'up'
               && $p->{consecutive_passes} < $C{passes};
        return time - $t0 if $p->{state} eq $state;
    } continue {
        sleep 0.02;
    }
    return undef;
}

sub states {
    my ($ups) = @_;
    my $st = status();
    return join ' ', map { my $p = peer($st, $ups, "$ups$_");
                           "$ups$_=" . ($p ? $p->{state} : '?') } qw(1 2 b);
}

# n requests through the type's location: the peers that answered, by
# name; "502" for a request that failed.
sub routed {
    my ($type, $n) = @_;
    my %by_port = map { $port{$_} => $_ } keys %port;
    my %seen;
    for (1 .. $n // 8) {
        my $r = get("/$type/x");
        my $up = $r->{headers}{'x-up'} // '';
        my $who = $up =~ /:(\d+)$/ ? $by_port{$1} // $up : 'none';
        $who = "502($who)" if $r->{status} == 502;
        $seen{$who}++;
    }
    return join ' ', sort keys %seen;
}

# The TURN servers in trtc_turn_credentials and trtc_proxy_config
sub turn_listed {
    my %by_port = map { $port{$_} => $_ } keys %port;
    my $r = get('/turn');
    my $p = get('/proxy');
    return "turn $r->{status}, proxy $p->{status}"
        unless $r->{status} == 200 && $p->{status} == 200;
    my $rest = decode_json($r->{content});
    my $obj = decode_json($p->{content});
    my %udp = map { m{^turn:127\.0\.0\.1:(\d+)\?transport=udp$}
                    ? ($by_port{$1} => 1) : () } @{ $rest->{uris} };
    my %tcp = map { m{^turn:127\.0\.0\.1:(\d+)\?transport=tcp$}
                    ? ($by_port{$1} => 1) : () } @{ $rest->{uris} };
    my $ts = $obj->{turnServer};
    my %sdk = map { $_->{url} =~ /:(\d+)$/ ? ($by_port{$1} => 1) : () }
              ref $ts eq 'ARRAY' ? @$ts : ($ts);
    my ($u, $t, $s) = map { join ',', sort keys %$_ } \%udp, \%tcp, \%sdk;
    return "udp [$u] tcp [$t] sdk [$s]"
        unless $u eq $t && $t eq $s && @{ $rest->{uris} } == 2 * keys %udp;
    return $u;
}

# What the type's traffic reaches now
sub reached {
    my $type = shift;
    return $type eq 'stun' ? turn_listed() : routed($type);
}

sub expect_reached {
    my ($type, $want, $what) = @_;
    my $want_str = join($type eq 'stun' ? ',' : ' ',
                        map { "$type$_" } split //, $want);
    is(reached($type), $want_str, "$type: $what")
        or diag('states: ' . states($type));
}

# Stops (or SIGSTOPs) a peer and measures until the status says down.
sub take_down {
    my ($type, $which, %o) = @_;
    my $name = "$type$which";
    if ($o{freeze}) {
        kill 'STOP', $procs{$name}{pid};
    } else {
        stop($name);
    }
    my $t0 = time;
    my $dt = time_to_state($type, $name, 'down', $t0, $down_bound + 5);
    my $how = $o{freeze} ? 'silenced (SIGSTOP)' : 'stopped';
    ok(defined $dt && $dt <= $down_bound,
       sprintf("$type: $name $how, down in %s s (bound %.2f s)",
               defined $dt ? sprintf('%.2f', $dt) : 'never', $down_bound))
        or diag('states: ' . states($type));
    push @timings, sprintf("%-6s %-6s down %s %.2f s", $type, $name,
                           $o{freeze} ? '(silent)' : '(stop)  ', $dt // -1);
}

sub bring_up {
    my ($type, $which, %o) = @_;
    my $name = "$type$which";
    if ($o{thaw}) {
        kill 'CONT', $procs{$name}{pid};
    } else {
        restart($name);
        ready($name);
    }
    my $t0 = time;
    my $dt = time_to_state($type, $name, 'up', $t0, $up_bound + 5);
    ok(defined $dt && $dt <= $up_bound,
       sprintf("$type: $name back, up in %s s (bound %.2f s)",
               defined $dt ? sprintf('%.2f', $dt) : 'never', $up_bound))
        or diag('states: ' . states($type));
    push @timings, sprintf("%-6s %-6s up            %.2f s", $type, $name,
                           $dt // -1);
}


# --- everything up -----------------------------------------------------------

ok(wait_for(10, sub {
    my $st = status() or return 0;
    for my $u (values %{ $st->{upstreams} }) {
        for my $p (@{ $u->{peers} }) {
            return 0 unless $p->{state} eq 'up' && $p->{checks} > 0;
        }
    }
    1;
}), 'every peer of every type is checked and up')
    or diag(JSON::PP->new->canonical->pretty->encode(status()));

# Two workers, one probe per peer per interval (one lease): not two
{
    my $before = peer(status(), 'http', 'http2')->{checks};
    my $t0 = time;
    sleep 2;
    my $n = peer(status(), 'http', 'http2')->{checks} - $before;
    my $dt = time - $t0;
    my $max = $dt / ($C{interval} * 0.9) + 1;
    my $min = $dt / ($C{interval} * 1.1 + 0.05) - 1;
    ok($n >= $min && $n <= $max,
       sprintf('two workers probe a peer %d times in %.1f s (%.1f .. %.1f)',
               $n, $dt, $min, $max));
}

# the wss probes are real handshakes: seen by the WebSocket server itself
{
    my @rec = map { decode_json($_) } grep { /\S/ }
              split /\n/, slurp("$dir/logs/wss1.record");
    ok(@rec >= 2 && !grep({ $_->{sni} ne 'signaling.test'
                            || $_->{host} ne 'signaling.test'
                            || $_->{path} ne '/check' } @rec),
       'the wss check completes WebSocket handshakes (SNI, Host, uri=)')
        or diag(explain(\@rec));
}


# --- each type: failover, backup takeover, return --------------------------

for my $type (qw(tcp http https tls wss stun)) {
    expect_reached($type, '12', 'both primaries serve, not the backup');

    take_down($type, 1);
    expect_reached($type, '2', 'the second primary takes everything');

    if ($type eq 'http') {
        reload_keeps_state();
    }

    take_down($type, 2);
    expect_reached($type, 'b', 'all primaries down: the backup takes over');

    screenshot() if $type eq 'https';

    bring_up($type, 1);
    expect_reached($type, '1', 'a primary is back: it takes over again');

    bring_up($type, 2);
    expect_reached($type, '12', 'both primaries again');
}

# silence is a failure too: a stopped (not exited) turnd, then coturn
for my $which (1, 2) {
    take_down('stun', $which, freeze => 1);
    is(peer(status(), 'stun', "stun$which")->{last_error}, 'timed out',
       "stun: stun$which silent: timed out");
    expect_reached('stun', $which == 1 ? '2' : '1',
                   'a silent TURN server is not listed');
    bring_up('stun', $which, thaw => 1);
}
expect_reached('stun', '12', 'both TURN servers listed again');


# --- the reload ---------------------------------------------------------------

sub reload_keeps_state {
    my $before = status();
    my $p1 = peer($before, 'http', 'http1');
    my $z1;
    ok(wait_for($down_bound + 3, sub {
        $z1 = peer(status(), 'zhttp', 'http1');
        $z1->{state} eq 'down';
    }), 'http: the zone upstream sees the dead peer down too');
    is(routed('zhttp'), 'http2', 'http: zone upstream: the second primary');

    $before = status();
    my $t0 = time;
    $front{nginx}->reload(front_conf(2));
    ok(wait_for(10,
                sub { (get('/gen')->{content} // '') eq "2\n" }),
       'reload: the new workers serve');

    # at once, before anything else
    my $after = status();
    my $dt = time - $t0;
    my $a1 = peer($after, 'http', 'http1');
    my $az = peer($after, 'zhttp', 'http1');
    is("$a1->{state} $az->{state}", 'down down',
       sprintf('reload: the dead peer is still down %.2f s after nginx -s '
               . 'reload', $dt));
    is($a1->{since}, $p1->{since}, 'reload: since the same time as before');
    cmp_ok($a1->{checks}, '>=', peer($before, 'http', 'http1')->{checks},
           'reload: its check counts go on');
    is(routed('http') . ' / ' . routed('zhttp'), 'http2 / http2',
       'reload: no request reaches the dead peer (with and without zone)');

    # every peer of every upstream kept its state
    my @changed;
    for my $u (sort keys %{ $before->{upstreams} }) {
        for my $i (0 .. $#{ $before->{upstreams}{$u}{peers} }) {
            my ($b, $a) = map { $_->{upstreams}{$u}{peers}[$i] }
                              $before, $after;
            push @changed, "$u $b->{name} $b->{state}/$a->{state}"
                unless $a->{name} eq $b->{name} && $a->{since} == $b->{since}
                       && $a->{checks} >= $b->{checks};
        }
    }
    is("@changed", '', 'reload: every peer keeps its state and history');
    push @timings, sprintf('reload: first status %.2f s after nginx -s reload',
                           $dt);
}


# --- the status page in a browser -------------------------------------------

sub screenshot {
    my $png = "$dir/status.png";
    SKIP: {
        skip "$chromium is not installed", 3 unless -x $chromium;
        my $profile = "$dir/chromium-profile";
        remove_tree($profile);
        my @args = ('--headless', '--no-sandbox', '--disable-gpu',
                    '--disable-quic', '--no-first-run',
                    '--disable-background-networking',
                    '--disable-component-update', '--disable-sync',
                    "--user-data-dir=$profile", '--window-size=1000,700');
        my $url = "http://127.0.0.1:$port{front}/st?format=html";
        unlink $png;
        run_bounded(60, $chromium, @args, "--screenshot=$png", $url);
        my $head = slurp($png);
        my ($w, $h) = length($head) > 24 && substr($head, 0, 8) eq
            "\x89PNG\r\n\x1a\n" ? unpack('NN', substr($head, 16, 8)) : (0, 0);
        ok(-s $png && -s $png > 8000 && $w == 1000 && $h == 700,
           sprintf('chromium screenshot of the HTML status: %d bytes, %dx%d',
                   -s $png // 0, $w, $h));

        # what the browser made of it: the DOM after parsing
        my $dom = run_bounded(60, $chromium, @args, '--dump-dom', $url);
        my @rows = $dom =~ /<td class="(up|down|disabled|checking)">/g;
        my %n;
        $n{$_}++ for @rows;
        is(scalar @rows, 21, 'the browser sees a state cell per peer');
        # https: both primaries down, the backup up (and one more down
        # per earlier type: none, they are all back by now)
        ok($n{down} >= 2 && $dom =~ /<h2>upstream https /,
           "states rendered: " . join ', ', map { "$_ $n{$_}" } sort keys %n);
    }
}

# Runs a command for at most $secs; its stdout.
sub run_bounded {
    my ($secs, @cmd) = @_;
    my $out = "$dir/logs/run.out";
    my $pid = fork;
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>>', "$dir/logs/chromium.log";
        { exec { $cmd[0] } @cmd }
        POSIX::_exit(127);
    }
    my $end = time + $secs;
    while (time < $end) {
        return slurp($out) if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', -$pid;     # its own group: chromium's helpers too
    waitpid $pid, 0;
    diag("@cmd[0 .. 1] did not finish in ${secs}s");
    return slurp($out);
}


# --- a reload that fails loses nothing ------------------------------------

# nginx sets up the shared zones of a new configuration before it opens its
# sockets: a reload refused then (here: a port held by another process)
# must not have dropped the state of peers that configuration left out.
{
    take_down('http', 1);
    my $before = peer(status(), 'http', 'http1');
    my $mark = $front{nginx}->log_mark;
    $front{nginx}->reload(front_conf(3, no_http => 1, steal => 'tcp1'));
    ok(wait_for(10, sub {
        $front{nginx}->log_since($mark) =~ /still could not bind/ }),
       'failed reload: refused (a port in use)');
    is(get('/gen')->{content}, "2\n", 'failed reload: the old config serves');
    is(peer(status(), 'http', 'http1')->{state}, 'down',
       'failed reload: the dead peer is still down');

    $front{nginx}->reload(front_conf(4));
    ok(wait_for(10,
                sub { (get('/gen')->{content} // '') eq "4\n" }),
       'reload after the failed one: the new workers serve');
    my $p = peer(status(), 'http', 'http1');
    is("$p->{state} since=$p->{since}", "down since=$before->{since}",
       'reload after a failed one: the dead peer is still down, same since');
    is(routed('http'), 'http2',
       'reload after a failed one: no request reaches the dead peer');
    bring_up('http', 1);
}


is("@early", '', "no peer changed state before $C{fails} fails or "
                 . "$C{passes} passes in a row");


# --- the log of the nginx under test ----------------------------------------

$front{nginx}->stop;
{
    my $log = $front{nginx}->log_text;
    # the failed reload's own messages aside
    my @bad = grep { /\[(?:alert|crit|emerg)\]/
                     && !/bind\(\) to 127\.0\.0\.1:$port{tcp1} failed|still could not bind/ }
              split /\n/, $log;
    is(scalar @bad, 0, 'no alert, crit or emerg in the error log')
        or diag(join "\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]);
    like($log, qr/\[warn\] .*trtc check: peer 127\.0\.0\.1:$port{stun1} of upstream "stun" is down \(stun check: timed out\)/,
         'a state change is logged at warn with its reason');
}


# --- nginx -s quit is not held up by the checks ---------------------------

# A black hole: a listener whose backlog is full drops further SYNs, so a
# connect() to it hangs (until the check's timeout).
# Its port is the kernel's choice: one picked long before could be taken
# by now.
socket(my $bh, PF_INET, SOCK_STREAM, 0) or die "socket: $!";
setsockopt($bh, SOL_SOCKET, SO_REUSEADDR, 1);
bind($bh, pack_sockaddr_in(0, inet_aton('127.0.0.1'))) or die "bind: $!";
$port{back} = (unpack_sockaddr_in(getsockname $bh))[0];
listen($bh, 0) or die "listen: $!";
my @fill = map { IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port{back}",
                                       Timeout => 0.3) } 1 .. 2;

# A silent peer: accepts, reads, never answers
my $silent = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                   Listen => 16, ReuseAddr => 1) or die;
my $silent_port = $silent->sockport;
my $silent_udp = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => 0, Proto => 'udp') or die;
my $silent_udp_port = $silent_udp->sockport;

sub quit_conf {
    my $name = shift;
    return <<"EOF";
    # long intervals: timers pending all along
    upstream long {
        server 127.0.0.1:$port{back};
        server 127.0.0.1:$silent_port;
        trtc_check type=http interval=1h timeout=30m;
    }
    # a probe in flight for most of each interval
    upstream blackhole {
        server 127.0.0.1:$port{back};
        trtc_check type=tcp interval=4s timeout=3900ms;
    }
    upstream slow {
        server 127.0.0.1:$silent_port;
        trtc_check type=http interval=4s timeout=3900ms;
    }
    upstream quiet {
        server 127.0.0.1:$silent_udp_port;
        trtc_check type=stun interval=4s timeout=3900ms;
    }
    server {
        listen 127.0.0.1:$port{$name};
        location = /st { trtc_status; }
    }
EOF
}

for my $mode (['quit', 'on'], ['single', 'off']) {
    my ($name, $master) = @$mode;
    ok(start_front(quit_conf($name), $name), "$name: nginx starts");
    my $pid = front_pid($name);

    # wait for the probes to be under way: the silent peer accepted one,
    # the UDP one got a Binding, the black hole is being connected to
    my @conns;
    my $udp_seen = 0;
    ok(wait_for(6, sub {
        if (IO::Select->new($silent)->can_read(0)) {
            push @conns, $silent->accept;
        }
        if (IO::Select->new($silent_udp)->can_read(0)) {
            my $b;
            $silent_udp->recv($b, 1500);
            $udp_seen++;
        }
        @conns && $udp_seen;
    }), "$name: the slow probes are in flight");
    sleep 0.2;

    my $t0 = time;
    system($front{$name}->cmd('-s', 'quit'));
    my $gone = wait_for(10, sub { !alive($pid) });
    my $dt = time - $t0;
    ok($gone && $dt <= 1.0,
       sprintf("$name: nginx -s quit returns in %.2f s with probes in flight",
               $dt));
    push @timings, sprintf("quit (master_process %s): %.2f s", $master, $dt);
    my @bad = grep { /\[(?:alert|crit|emerg)\]/ }
              split /\n/, $front{$name}->log_text;
    is(join("\n", @bad), '', "$name: a clean exit (no alert)");
    close $_ for @conns;
}

close $_ for grep { defined } @fill;
close $bh;

note("measured:\n" . join "\n", @timings);

done_testing();
