package TrtcTest::E2E;

# The end-to-end harness of t/5xx-e2e-*.t (t/e2e/README.md): an office, a
# corporate firewall, an edge (the proxy host) and a vendor (TRTC's
# stand-ins) as network namespaces, a browser in the office making a call
# the way TRTC's Web SDK does, and the checks of every call.
#
#   my $h = TrtcTest::E2E->new(stack => 'ours');    # or 'reference'
#   $h->firewall('2-A');                            # swaps the rule set
#   my $r = $h->call(browser => 'chromium', name => 'a1');
#   my %c = $h->checks($r);                         # name => [ok, why]
#
# Namespaces are named te2e<pid>-<host>; everything started is stopped by
# pid and every namespace deleted at exit, on failure and on SIGINT/TERM.
# TRTC_E2E_KEEP=DIR keeps configs, logs and page results under DIR.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);
use Test::More ();

use TrtcTest::Turn ();
use TrtcTest::Util qw(write_file slurp wait_for fork_exec stop_pid);

my $ROOT = abs_path(dirname(__FILE__) . '/../../..');
my $E2E = "$ROOT/t/e2e";

# The addresses: one /24 per firewall leg, nothing routes anywhere else.
our %IP = (
    office => '10.212.1.2', fw_office => '10.212.1.1',
    edge => '10.212.2.2', edge2 => '10.212.2.3', fw_edge => '10.212.2.1',
    vendor => '10.212.3.2', vendor2 => '10.212.3.3', logs => '10.212.3.4',
    fw_vendor => '10.212.3.1',
);
our $NET = '10.212.0.0/16';
our $VENDOR_NET = '10.212.3.0/24';

my $COLLECTOR_PORT = 8080;
# Debian's libnginx-mod-stream, for the edge's one port 443 (port443)
our $STREAM_SO = $ENV{NGINX_STREAM_MODULE}
                 || '/usr/lib/nginx/modules/ngx_stream_module.so';
my $ORIGIN = "http://127.0.0.1:$COLLECTOR_PORT";

# Check timings of the failover scenarios: a dead node is skipped within
# interval x fails + timeout.
our %CHECK = (interval => 1, timeout => 0.5, fails => 2);
sub detection { return $CHECK{interval} * $CHECK{fails} + $CHECK{timeout} }

# nftables of the firewall, per scenario: its legs are o (office),
# e (edge) and v (vendor).  Replies of allowed flows pass (conntrack).
our %RULES = (
    '2-A' => [
        'iifname "o" oifname "e" tcp dport 443 accept',
        'iifname "o" oifname "e" tcp dport 3478 accept',
        'iifname "o" oifname "e" udp dport 3478 accept',
        'iifname { "e", "v" } oifname { "e", "v" } accept',
    ],
    '2-A-tcp' => [
        'iifname "o" oifname "e" tcp dport 443 accept',
        'iifname "o" oifname "e" tcp dport 3478 accept',
        'iifname { "e", "v" } oifname { "e", "v" } accept',
    ],
    '2-B' => [
        'iifname { "o", "e" } oifname { "o", "e" } accept',
        'iifname "e" oifname "v" accept',
    ],
    # the HTTPS-only office: 443/tcp to the edge, no more
    'https-only' => [
        'iifname "o" oifname "e" tcp dport 443 accept',
        'iifname { "e", "v" } oifname { "e", "v" } accept',
    ],
    # and one that inspects 443 and drops what is not TLS (%PRE)
    'https-only-tls' => [
        'iifname "o" oifname "e" tcp dport 443 accept',
        'iifname { "e", "v" } oifname { "e", "v" } accept',
    ],
);

# Rules before "established accept", so they see every packet of a flow.
# https-only-tls: the first data segment the office sends on a 443 flow
# must start with 0x16 (a TLS handshake record), or the flow is dropped
# from there on.  @ih is the TCP payload; a segment without payload (SYN,
# ACK) cannot load it and matches neither rule; ct mark remembers the
# verdict, so later segments (mid-record, application data) pass.
our %PRE = (
    'https-only-tls' => [
        'iifname "o" oifname "e" tcp dport 443 ct mark 0 @ih,0,8 0x16 '
            . 'ct mark set 1',
        'iifname "o" oifname "e" tcp dport 443 ct mark 0 @ih,0,8 != 0x16 '
            . 'ct mark set 2',
        'iifname "o" oifname "e" tcp dport 443 ct mark 2 counter drop',
    ],
);

my @LIVE;           # harnesses to clean up at exit

sub _cleanup_all { $_->cleanup for grep { defined } @LIVE; @LIVE = () }
END { local ($?, $!, $@); _cleanup_all() }
$SIG{INT} = $SIG{TERM} = sub { _cleanup_all(); exit 130 };


# --- small tools --------------------------------------------------------

sub json_lines {
    return [map { eval { decode_json($_) } || () }
            split /\n/, slurp(shift)];
}

sub sh {
    my @cmd = @_;
    my $r = TrtcTest::Turn::run(30, @cmd);
    die "failed ($r->{rc}): $r->{cmd}\n$r->{out}" if $r->{rc};
    return $r->{out};
}


# The list of a test's scenarios (or browsers): TRTC_E2E_<WHAT> (comma
# separated) picks some of them.
sub pick {
    my ($what, @all) = @_;
    my $want = $ENV{"TRTC_E2E_$what"} or return @all;
    my %want = map { $_ => 1 } split /,/, $want;
    return grep { $want{$_} } @all;
}

# Nothing is skipped in silence: a missing browser or tool is a failure
# that names it.
sub need {
    my @what = @_;
    my %bin = (chromium => $ENV{TRTC_TEST_CHROMIUM}
                           || '/usr/lib/chromium/chromium',
               firefox => '/usr/bin/firefox-esr',
               coturn => '/usr/bin/turnserver', nft => '/usr/sbin/nft',
               certutil => '/usr/bin/certutil');
    my @miss = grep { !-x $bin{$_} } 'nft', @what,
               (grep { $_ eq 'firefox' } @what) ? 'certutil' : ();
    my $why = @miss ? "not installed: @miss (make deps-test)"
            : $> ? 'needs root (ip netns, nftables)' : undef;
    return unless $why;
    Test::More::fail("e2e: cannot set up: $why");
    Test::More::done_testing();
    exit 1;
}

# new(), or a failed test saying why the topology could not be set up.
sub start_ok {
    my ($class, %o) = @_;
    my $h = eval { $class->new(%o) };
    Test::More::ok($h, "e2e $o{stack}: topology and services up")
        or Test::More::diag("e2e: cannot set up: $@");
    return $h;
}


# --- the topology -------------------------------------------------------

# Options: stack (ours|reference), signal_nodes (1|2), turn_nodes (1|2),
# any_sni (the vendor's services also take TLS without SNI), relay_peers
# (ours: turnd relays between its own relays, allow-relay-peers and the
# edge's addresses allowed: the diagnostics page calls itself through
# one turnd), port443 (ours: README's "one port 443": nginx's stream module
# on the edge's 443 sorts HTTPS, TURN over TLS and TURN over TCP, each
# with the PROXY protocol; turnd node 0 takes TLS and /trtc/proxy hands
# it out on UDP 3478, TCP 443 and TLS 443; see port443_conf).
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        stack => $o{stack} || 'ours',
        signal_nodes => $o{signal_nodes} || 1,
        turn_nodes => $o{turn_nodes} || 1,
        any_sni => $o{any_sni},
        relay_peers => $o{relay_peers},
        port443 => $o{port443},
        prefix => "te2e$$",
        procs => {}, calls => 0,
    }, $class;
    push @LIVE, $self;
    if ($ENV{TRTC_E2E_KEEP}) {
        $self->{dir} = "$ENV{TRTC_E2E_KEEP}/$self->{stack}"
                     . ($o{any_sni} ? '-any-sni' : '') . "-$$";
        make_path($self->{dir});
    } else {
        $self->{dir} = tempdir('trtc-e2e-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
    }
    make_path(map { "$self->{dir}/$_" }
              qw(edge vendor office-pages vendor-pages spool));
    eval {
        $self->network;
        $self->certificates;
        $self->start_vendor;
        $self->start_edge;
        $self->start_collectors;
        1;
    } or do {
        my $e = $@;
        $self->cleanup;         # the next harness of this run reuses names
        die $e;
    };
    return $self;
}

sub dir { return $_[0]{dir} }
sub ns { return "$_[0]{prefix}-$_[1]" }

sub network {
    my $self = shift;
    my %hosts = (
        office => "$IP{edge} proxy.test\n",
        edge => "$IP{vendor} signaling.test a.signaling.test\n"
              . "$IP{vendor2} b.signaling.test\n$IP{logs} yun.test\n",
        vendor => "$IP{vendor} signaling.test a.signaling.test\n"
                . "$IP{vendor2} b.signaling.test\n$IP{logs} yun.test\n",
        fw => '',
    );
    for my $host (qw(fw office edge vendor)) {
        my $ns = $self->ns($host);
        sh('ip', 'netns', 'add', $ns);
        push @{$self->{netns}}, $ns;
        # ip netns exec bind-mounts these over /etc/hosts, /etc/resolv.conf
        make_path("/etc/netns/$ns");
        write_file("/etc/netns/$ns/hosts",
                   "127.0.0.1 localhost\n$hosts{$host}");
        write_file("/etc/netns/$ns/resolv.conf", "nameserver 127.0.0.1\n");
        sh('ip', '-n', $ns, 'link', 'set', 'lo', 'up');
    }
    my $fw = $self->ns('fw');
    for my $leg (['o', 'office', [$IP{office}]],
                 ['e', 'edge', [$IP{edge}, $IP{edge2}]],
                 ['v', 'vendor', [$IP{vendor}, $IP{vendor2}, $IP{logs}]])
    {
        my ($if, $host, $addrs) = @$leg;
        my $ns = $self->ns($host);
        sh('ip', 'link', 'add', 'name', $if, 'netns', $fw, 'type', 'veth',
           'peer', 'name', 'eth0', 'netns', $ns);
        sh('ip', '-n', $fw, 'addr', 'add', "$IP{\"fw_$host\"}/24", 'dev',
           $if);
        sh('ip', '-n', $ns, 'addr', 'add', "$_/24", 'dev', 'eth0')
            for @$addrs;
        sh('ip', '-n', $fw, 'link', 'set', $if, 'up');
        sh('ip', '-n', $ns, 'link', 'set', 'eth0', 'up');
        # the other legs through the firewall; no default route anywhere
        sh('ip', '-n', $ns, 'route', 'add', $NET, 'via', $IP{"fw_$host"});
    }
    # Firefox gathers only on the interface of the default route when
    # iceTransportPolicy is 'relay' (it connect()s a UDP socket to a public
    # address to find it): the office's default route is the firewall,
    # which has none of its own and drops what it cannot route.
    sh('ip', '-n', $self->ns('office'), 'route', 'add', 'default', 'via',
       $IP{fw_office});
    sh('ip', 'netns', 'exec', $fw, 'sysctl', '-qw',
       'net.ipv4.ip_forward=1');
}

# Swaps the firewall's rule set (one nft transaction), without the rules
# (and %PRE) matching the regex $drop if given (to break a path on
# purpose), with the rules @first before its own.
sub firewall {
    my ($self, $scenario, $drop, @first) = @_;
    my $rules = $RULES{$scenario} or die "no rule set $scenario";
    my %drop = map { $_ => 1 } grep { $drop && /$drop/ } @$rules;
    $rules = [@first, @$rules];
    my $text = "flush ruleset\ntable inet e2e {\n"
             . "  chain forward {\n"
             . "    type filter hook forward priority 0; policy drop;\n"
             . join('', map { "    $_\n" } grep { !($drop && /$drop/) }
                    @{$PRE{$scenario} || []})
             . "    ct state established,related accept\n"
             . join('', map { "    $_\n" } grep { !$drop{$_} } @$rules)
             . "  }\n}\n";
    write_file("$self->{dir}/nft-$scenario.conf", $text);
    sh('ip', 'netns', 'exec', $self->ns('fw'), 'nft', '-f',
       "$self->{dir}/nft-$scenario.conf");
    # flows of the previous scenario must not pass as "established"
    TrtcTest::Turn::run(10, 'ip', 'netns', 'exec', $self->ns('fw'),
                        'conntrack', '-F') if -x '/usr/sbin/conntrack';
    $self->{scenario} = $scenario;
}

# A CA of this run, one key for every leaf (so one SPKI pin for Chromium).
sub certificates {
    my $self = shift;
    my $d = "$self->{dir}/tls";
    make_path($d);
    my @ec = ('-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    sh('openssl', 'genpkey', @ec, '-out', "$d/ca.key");
    sh('openssl', 'req', '-x509', '-new', '-key', "$d/ca.key", '-subj',
       "/CN=trtc e2e CA $$", '-days', '2', '-out', "$d/ca.crt",
       '-addext', 'basicConstraints=critical,CA:TRUE',
       '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    sh('openssl', 'genpkey', @ec, '-out', "$d/leaf.key");
    sh('openssl', 'req', '-new', '-key', "$d/leaf.key", '-subj',
       '/CN=e2e', '-out', "$d/leaf.csr");
    write_file("$d/ext", "basicConstraints=critical,CA:FALSE\n"
        . "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:proxy.test,"
        . "DNS:signaling.test,DNS:*.signaling.test,DNS:yun.test\n");
    sh('openssl', 'x509', '-req', '-in', "$d/leaf.csr", '-CA',
       "$d/ca.crt", '-CAkey', "$d/ca.key", '-set_serial', '0x' . $$,
       '-days', '2', '-extfile', "$d/ext", '-out', "$d/leaf.crt");
    # an impostor's certificate: the same key and names, from a CA nobody
    # trusts (Chromium's SPKI pin still takes it, nginx must not)
    sh('openssl', 'genpkey', @ec, '-out', "$d/other-ca.key");
    sh('openssl', 'req', '-x509', '-new', '-key', "$d/other-ca.key",
       '-subj', "/CN=trtc e2e CA $$", '-days', '2', '-out',
       "$d/other-ca.crt", '-addext', 'basicConstraints=critical,CA:TRUE',
       '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
    sh('openssl', 'x509', '-req', '-in', "$d/leaf.csr", '-CA',
       "$d/other-ca.crt", '-CAkey', "$d/other-ca.key", '-set_serial',
       '0x1' . $$, '-days', '2', '-extfile', "$d/ext", '-out',
       "$d/impostor.crt");
    my $spki = sh('sh', '-c', "openssl pkey -in $d/leaf.key -pubout "
        . "-outform der | openssl dgst -sha256 -binary | base64");
    $spki =~ s/\s+//g;
    $self->{spki} = $spki;
    $self->{tls} = $d;
    $self->{turn_cert} = ["$d/leaf.crt", "$d/leaf.key"];
}

# A bad leaf from the run's CA, with a key of its own (Chromium's SPKI pin
# must not excuse it): days (-1: expired yesterday), names (SAN DNS names).
# Returns (cert, key).
sub bad_leaf {
    my ($self, $name, %o) = @_;
    my $d = $self->{tls};
    sh('openssl', 'genpkey', '-algorithm', 'EC', '-pkeyopt',
       'ec_paramgen_curve:P-256', '-out', "$d/$name.key");
    sh('openssl', 'req', '-new', '-key', "$d/$name.key", '-subj',
       "/CN=$name", '-out', "$d/$name.csr");
    write_file("$d/$name.ext", "basicConstraints=critical,CA:FALSE\n"
        . "extendedKeyUsage=serverAuth\nsubjectAltName="
        . join(',', map { "DNS:$_" } @{$o{names} || ['proxy.test']}) . "\n");
    sh('openssl', 'x509', '-req', '-in', "$d/$name.csr", '-CA',
       "$d/ca.crt", '-CAkey', "$d/ca.key", '-set_serial',
       '0x2' . int(rand 1e6), '-days', $o{days} // 2, '-extfile',
       "$d/$name.ext", '-out', "$d/$name.crt");
    return ("$d/$name.crt", "$d/$name.key");
}


# --- processes ----------------------------------------------------------

# Starts NAME (a command in namespace HOST); output to DIR/NAME.log.
sub spawn {
    my ($self, $name, $host, @cmd) = @_;
    my $log = "$self->{dir}/$name.log";
    my $pid = fork_exec($log, 'ip', 'netns', 'exec', $self->ns($host),
                        @cmd);
    $self->{procs}{$name} = {pid => $pid, log => $log, host => $host,
                             cmd => \@cmd};
    return $pid;
}

sub alive {
    my ($self, $name) = @_;
    my $p = $self->{procs}{$name} or return 0;
    return 0 if waitpid($p->{pid}, WNOHANG) != 0;
    return kill 0, $p->{pid};
}

sub stop {
    my ($self, $name, $timeout) = @_;
    my $p = delete $self->{procs}{$name} or return;
    stop_pid($p->{pid}, group => 1, timeout => $timeout || 3);
}

# Like spawn, and waits until it writes its --ready file.
sub spawn_ready {
    my ($self, $name, $host, @cmd) = @_;
    my $ready = "$self->{dir}/$name.ready";
    unlink $ready;
    $self->spawn($name, $host, @cmd, '--ready', $ready);
    wait_for(10, sub { -s $ready || !$self->alive($name) });
    die "$name did not start:\n" . slurp("$self->{dir}/$name.log")
        unless -s $ready;
}

# Waits until a TCP or UDP port listens in a namespace.
sub wait_listen {
    my ($self, $host, $proto, $addr, $port, $name) = @_;
    my $flag = $proto eq 'udp' ? '-uln' : '-tln';
    my $ok = wait_for(10, sub {
        my $r = TrtcTest::Turn::run(5, 'ip', 'netns', 'exec',
                                    $self->ns($host), 'ss', '-H', $flag);
        $r->{out} =~ /\Q$addr\E:$port\b/;
    });
    die "$name does not listen on $addr:$port/$proto:\n"
        . slurp("$self->{dir}/$name.log") unless $ok;
}

sub vendor_py { return ('/usr/bin/python3', "$E2E/vendor.py", @_) }

sub tls_args {
    my $self = shift;
    return ('--cert', "$self->{tls}/"
            . ($self->{impostor} ? 'impostor' : 'leaf') . '.crt',
            '--key', "$self->{tls}/leaf.key");
}

# Restarts the vendor's services with the impostor's certificate (or,
# $on false, the real one): a man in the middle between edge and vendor.
sub impostor {
    my ($self, $on) = @_;
    $self->{impostor} = $on;
    my @sig = grep { $self->{procs}{"signal-$_"} } 'a', 'b';
    $self->stop($_) for 'logsink', map { "signal-$_" } @sig;
    $self->start_signal($_) for @sig;
    $self->start_logsink;
    $self->wait_up if !$on;
}

sub start_signal {
    my ($self, $node) = @_;
    my $addr = $node eq 'a' ? $IP{vendor} : $IP{vendor2};
    $self->spawn_ready("signal-$node", 'vendor', vendor_py('signal',
        '--host', $addr, '--port', 443, $self->tls_args,
        '--sni', 'signaling.test', $self->{any_sni} ? '--any-sni' : (),
        '--name', $node,
        '--record', "$self->{dir}/vendor/signal.jsonl"));
}

# The log service answers STATUS to every upload from now on (200: takes
# them again).
sub logsink_answer {
    my ($self, $status) = @_;
    write_file("$self->{dir}/vendor/logs.control", "$status\n");
}

sub start_logsink {
    my $self = shift;
    $self->spawn_ready('logsink', 'vendor', vendor_py('logsink',
        '--control', "$self->{dir}/vendor/logs.control",
        '--host', $IP{logs}, '--port', 443, $self->tls_args,
        '--sni', 'yun.test', $self->{any_sni} ? '--any-sni' : (),
        '--record', "$self->{dir}/vendor/logs.jsonl"));
}

sub start_vendor {
    my $self = shift;
    $self->start_signal('a');
    $self->start_signal('b') if $self->{signal_nodes} > 1;
    $self->start_logsink;
}

sub start_collectors {
    my $self = shift;
    for my $host ('office', 'vendor') {
        $self->spawn_ready("collector-$host", $host, vendor_py('collector',
            '--host', '127.0.0.1', '--port', $COLLECTOR_PORT,
            '--dir', "$self->{dir}/$host-pages"));
    }
}


# --- the edge: our stack or the tutorial's -----------------------------

sub signal_servers {
    my $self = shift;
    return map { "server $_:443;" }
           ($IP{vendor}, $self->{signal_nodes} > 1 ? $IP{vendor2} : ());
}

sub turn_addrs {
    my $self = shift;
    return ($IP{edge}, $self->{turn_nodes} > 1 ? $IP{edge2} : ());
}

sub nginx_conf {
    my $self = shift;
    my $d = "$self->{dir}/edge";
    my $tls = $self->{tls};
    my $head = <<"EOF";
daemon off;
master_process on;
worker_processes 1;
user root;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 256; }
EOF
    if ($self->{stack} eq 'reference') {
        # the tutorial's server block, its names and paths made ours
        return $head . <<"EOF";
http {
  access_log $d/access.log;
  server {
    # The access domain name of the Nginx server
    server_name proxy.test;
    # The access port of the Nginx server
    listen 443;
    ssl on;
    location /ws/ { # Corresponding to the websocketProxy parameter in setProxyServer
      proxy_pass https://signaling.test/; # TRTC server
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection "upgrade";
    }
    location /logger/ { # Corresponding to the loggerProxy parameter in setProxyServer
      proxy_pass https://yun.test/;
    }
    # SSL certificate corresponding to the domain name, used for HTTPS, users need to apply for it themselves
    ssl_certificate $tls/leaf.crt;
    ssl_certificate_key $tls/leaf.key;
  }
}
EOF
    }
    my $so = $ENV{TEST_NGINX_LOAD_MODULES}
             || "$ROOT/build/ngx_http_trtc_module.so";
    my $check = "interval=$CHECK{interval}s timeout=" . $CHECK{timeout} * 1000 . "ms "
              . "fails=$CHECK{fails}";
    my $sig = join ' ', $self->signal_servers;
    my $turn = join ' ', map { "server $_:3478;" } $self->turn_addrs;
    my $listen = "$IP{edge}:443 ssl";
    my $stream = '';
    my $turn443 = '';
    my $turn_urls = 'turn=trtc_turn';
    if ($self->{port443}) {
        $listen = "127.0.0.1:8443 ssl proxy_protocol;\n"
                . "    set_real_ip_from 127.0.0.2;\n"
                . "    real_ip_header proxy_protocol";
        $stream = $self->port443_conf;
        # README's "Deploying: one port 443": turnd node 0 on the edge's
        # 443 too, over TCP and TLS, each URL handed out while its own
        # probe passes through the stream hop (as a browser reaches it)
        $turn443 = <<"EOF";
  upstream trtc_turn_tcp {
    server $IP{edge}:443;
    trtc_check type=stun-tcp $check;
  }
  upstream trtc_turn_tls {
    server $IP{edge}:443;
    trtc_check type=stun-tls $check host=proxy.test ca=$tls/ca.crt;
  }
EOF
        $turn_urls = 'turn=turn:trtc_turn?transport=udp'
                   . "\n                      turn=turn:trtc_turn_tcp?"
                   . 'transport=tcp'
                   . "\n                      turn=turns:trtc_turn_tls";
    }
    return "load_module $so;\n"
         . ($stream ? "load_module $STREAM_SO;\n" : '')
         . $head . $stream . <<"EOF";
http {
  access_log $d/access.log;
  trtc_credentials $d/credentials;
  upstream trtc_signaling {
    $sig
    trtc_check type=wss uri=/check $check host=signaling.test
               ca=$tls/ca.crt;
  }
  upstream trtc_logger { server $IP{logs}:443; }
  upstream trtc_turn {
    $turn
    trtc_check type=stun $check;
  }
${turn443}  server {
    listen $listen;
    server_name proxy.test;
    ssl_certificate $tls/leaf.crt;
    ssl_certificate_key $tls/leaf.key;
    location /ws/ {
      trtc_signaling_pass https://trtc_signaling/ host=signaling.test
                          ca=$tls/ca.crt;
    }
    location /logger/ {
      trtc_logger_pass https://trtc_logger/ host=yun.test ca=$tls/ca.crt;
      trtc_logger_spool $self->{dir}/spool;
      trtc_allow_origin $ORIGIN;
    }
    location = /trtc/proxy {
      trtc_proxy_config $turn_urls
                      ttl=1h policy=relay;
      trtc_allow_origin $ORIGIN;
    }
    location = /trtc/status { trtc_status; }
    location = /trtc/check { trtc_diagnostics report=on reports=64; }
  }
}
EOF
}

# The edge's 443 as README's "Deploying: one port 443" has it: TLS with an
# HTTP ALPN to the http server, other TLS to turnd's TLS port, not TLS to
# its TCP port, all with the PROXY protocol from 127.0.0.2.  The access
# log records what each client's ClientHello offered (SNI, ALPN).
sub port443_conf {
    my $self = shift;
    my $conf = <<'EOF';
stream {
  log_format trtc '$remote_addr tls="$ssl_preread_protocol" '
                  'sni="$ssl_preread_server_name" '
                  'alpn="$ssl_preread_alpn_protocols" '
                  'to="$upstream_addr" status="$status"';
  access_log __DIR__/stream.log trtc;
  map $ssl_preread_alpn_protocols $trtc_tls_upstream {
    ~\bstun\.turn\b        127.0.0.1:5349;    # RFC 7443
    ~\b(h2|http/1\.1)\b    127.0.0.1:8443;    # browsers' HTTPS
    default                127.0.0.1:5349;    # no ALPN: TURN
  }
  map $ssl_preread_protocol $trtc_upstream {
    ""                     127.0.0.1:3478;    # not TLS: TURN/TCP
    default                $trtc_tls_upstream;
  }
  server {
    listen __EDGE__:443;
    ssl_preread on;
    proxy_pass $trtc_upstream;
    proxy_protocol on;
    proxy_bind 127.0.0.2;
  }
}
EOF
    $conf =~ s/__DIR__/$self->{dir}\/edge/g;
    $conf =~ s/__EDGE__/$IP{edge}/g;
    return $conf;
}

# The stream log's records, oldest first: [{client, tls, sni, alpn, to,
# status}] (empty where the ClientHello had none, or where it was no TLS).
sub stream_log {
    my $self = shift;
    my @r;
    for (split /\n/, slurp("$self->{dir}/edge/stream.log")) {
        my %e = map { $_ eq '-' ? '' : $_ } /(\w+)="([^"]*)"/g;
        ($e{client}) = /^(\S+)/;
        push @r, \%e;
    }
    return \@r;
}

sub turn_conf {
    my ($self, $addr) = @_;
    my $d = "$self->{dir}/edge";
    if ($self->{stack} eq 'reference') {
        # what the tutorial's turn.sh writes, with the edge's address
        return <<"EOF";
external-ip=$addr
listening-port=3478
lt-cred-mech
max-port=65535
min-port=20000
no-dtls
no-tls
realm=tencent
user=turn:turn
verbose
EOF
    }
    # README's "Deploying", plus the vendor's range as a permitted peer
    return <<"EOF"
listening-ip=$addr
listening-port=3478
external-ip=$addr
min-port=40000
max-port=40999
credentials-file=$d/credentials
allowed-peer-ip=$VENDOR_NET
EOF
        . ($self->{relay_peers}
           ? "allow-relay-peers\n" . join('', map { "allowed-peer-ip=$_\n" }
                                          $self->turn_addrs) : '')
        . ($self->{port443} && $addr eq $IP{edge} ? <<"EOF" : '');
listening-ip=127.0.0.1
relay-ip=$addr
tls-listening-port=5349
cert=$self->{turn_cert}[0]
pkey=$self->{turn_cert}[1]
proxy-protocol-from=127.0.0.2
verbose
EOF
}

# Restarts turnd node 0 with another certificate and key (without
# arguments, the run's own); the previous log is kept as turn0.log.N.
sub turn_cert {
    my ($self, $crt, $key) = @_;
    $self->stop('turn0');
    my $n = ++$self->{turn_restarts};
    rename "$self->{dir}/turn0.log", "$self->{dir}/turn0.log.$n";
    $self->{turn_cert} = [$crt || "$self->{tls}/leaf.crt",
                          $key || "$self->{tls}/leaf.key"];
    $self->start_turn(0);
}

# Restarts turnd node I with a credentials file of another secret (or,
# $wrong false, with the shared one again).
sub turn_wrong_secret {
    my ($self, $i, $wrong) = @_;
    $self->stop("turn$i");
    $self->{wrong_secret} = $wrong;
    $self->start_turn($i);
}

sub start_turn {
    my ($self, $i) = @_;
    my $addr = ($self->turn_addrs)[$i];
    my $name = "turn$i";
    my $conf = "$self->{dir}/edge/$name.conf";
    my $text = $self->turn_conf($addr);
    if ($self->{wrong_secret}) {
        my $f = "$self->{dir}/edge/credentials-wrong";
        write_file($f, "realm trtc.test\nsecret " . ('ab' x 32) . "\n");
        $text =~ s/^credentials-file=.*/credentials-file=$f/m;
    }
    write_file($conf, $text);
    if ($self->{stack} eq 'reference') {
        $self->spawn($name, 'edge', '/usr/bin/turnserver', '-c', $conf,
                     '--pidfile', "$self->{dir}/edge/$name.pid",
                     '--log-file', 'stdout', '--simple-log');
    } else {
        $self->spawn($name, 'edge', "$ROOT/build/turnd", '-c', $conf);
    }
    $self->wait_listen('edge', 'udp', $self->{stack} eq 'reference'
                       ? '' : $addr, 3478, $name);
    $self->wait_listen('edge', 'tcp', '127.0.0.1', 5349, $name)
        if $self->{port443} && $i == 0;
}

sub start_edge {
    my $self = shift;
    my $d = "$self->{dir}/edge";
    write_file("$d/credentials", "realm trtc.test\nsecret "
               . unpack('H*', join '', map { chr rand 256 } 1 .. 32)
               . "\n");
    chmod 0600, "$d/credentials";
    write_file("$d/nginx.conf", $self->nginx_conf);
    my $t = TrtcTest::Turn::run(20, 'ip', 'netns', 'exec', $self->ns('edge'),
                                'nginx', '-t', '-c', "$d/nginx.conf");
    die "nginx -t refuses the edge's configuration:\n$t->{out}"
        if $t->{rc};
    $self->spawn('nginx', 'edge', 'nginx', '-c', "$d/nginx.conf");
    # the tutorial's "listen 443" is every address
    $self->wait_listen('edge', 'tcp', $self->{stack} eq 'reference'
                       ? '' : $IP{edge}, 443, 'nginx');
    $self->start_turn($_) for 0 .. $self->{turn_nodes} - 1;
}

# The proxy object as the application hands it to the SDK: ours from
# /trtc/proxy, the tutorial's written in the page.
sub proxy_source {
    my $self = shift;
    return (proxyUrl => 'https://proxy.test/trtc/proxy')
        if $self->{stack} ne 'reference';
    return (staticProxy => {
        websocketProxy => 'wss://proxy.test/ws/',
        turnServer => {url => "$IP{edge}:3478", username => 'turn',
                       credential => 'turn', credentialType => 'password'},
        iceTransportPolicy => 'all',
        loggerProxy => 'https://proxy.test/logger/',
    });
}

# GET https://proxy.test/PATH from the office (curl trusting the CA):
# the body, or with $status the status code.
sub office_get {
    my ($self, $path, $status) = @_;
    my $r = TrtcTest::Turn::run(10, 'ip', 'netns', 'exec',
        $self->ns('office'), 'curl', '-sS', '--max-time', '5',
        $status ? ('-o', '/dev/null', '-w', '%{http_code}') : (),
        '--cacert', "$self->{tls}/ca.crt", "https://proxy.test$path");
    return $r->{out};
}


# Ours: waits until trtc_check sees every peer up again (after a path was
# broken on purpose); true when it does.
sub wait_up {
    my $self = shift;
    return 1 if $self->{stack} eq 'reference';
    return wait_for(detection() + 3, sub {
        my $st = eval { decode_json($self->office_get('/trtc/status')) }
            or return 0;
        my @peers = map { @{$_->{peers}} } values %{$st->{upstreams}};
        @peers && !grep { $_->{state} ne 'up' } @peers;
    });
}


# --- browsers -----------------------------------------------------------

# With trust_ca on (t/550's bad certificates), the office's Chromium also
# trusts the run's CA through NSS ($HOME/.pki/nssdb of its profile), so a
# certificate from it with another key fails for its own fault (expired,
# wrong name), not for an unknown issuer.
sub trust_ca { $_[0]{trust_ca} = $_[1] }

sub chromium {
    my ($self, $name, $host, $url) = @_;
    my @env;
    if ($self->{trust_ca} && $host eq 'office') {
        my $home = "$self->{dir}/profile-$name";
        make_path("$home/.pki/nssdb");
        sh('certutil', '-N', '-d', "sql:$home/.pki/nssdb",
           '--empty-password');
        sh('certutil', '-A', '-d', "sql:$home/.pki/nssdb", '-n',
           'trtc e2e CA', '-t', 'C,,', '-i', "$self->{tls}/ca.crt");
        @env = ('env', "HOME=$home");
    }
    $self->spawn("browser-$name", $host, @env, $self->chromium_cmd($name),
                 $url);
}

sub chromium_cmd {
    my ($self, $name) = @_;
    my $profile = "$self->{dir}/profile-$name";
    make_path($profile);
    my $bin = $ENV{TRTC_TEST_CHROMIUM} || '/usr/lib/chromium/chromium';
    return ($bin,
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
        '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync',
        "--user-data-dir=$profile",
        "--ignore-certificate-errors-spki-list=$self->{spki}",
        '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
        '--autoplay-policy=no-user-gesture-required',
        '--disable-features=WebRtcHideLocalIpsWithMdns');
}

my $FIREFOX_PREFS = <<'EOF';
user_pref("media.navigator.streams.fake", true);
user_pref("media.navigator.permission.disabled", true);
user_pref("media.autoplay.default", 0);
user_pref("media.peerconnection.ice.obfuscate_host_addresses", false);
user_pref("media.peerconnection.ice.default_address_only", false);
user_pref("network.trr.mode", 5);
user_pref("network.proxy.type", 0);
user_pref("network.dns.disableIPv6", true);
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("app.update.enabled", false);
user_pref("app.normandy.enabled", false);
user_pref("extensions.update.enabled", false);
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
EOF

# @prefs: more user.js lines
sub firefox {
    my ($self, $name, $host, $url, @prefs) = @_;
    my $profile = "$self->{dir}/profile-$name";
    make_path($profile);
    write_file("$profile/user.js", join '', $FIREFOX_PREFS, @prefs);
    sh('certutil', '-N', '-d', "sql:$profile", '--empty-password');
    sh('certutil', '-A', '-d', "sql:$profile", '-n', 'trtc e2e CA',
       '-t', 'C,,', '-i', "$self->{tls}/ca.crt");
    $self->spawn("browser-$name", $host, 'env', "HOME=$profile",
        'MOZ_HEADLESS=1', $ENV{TRTC_E2E_MOZ_LOG}
            ? ("MOZ_LOG=$ENV{TRTC_E2E_MOZ_LOG}") : (),
        $ENV{TRTC_TEST_FIREFOX} || 'firefox-esr',
        '--headless', '--no-remote', '--profile', $profile, $url);
}

sub page {
    my ($self, $host, $name, $template, $cfg) = @_;
    my $json = JSON::PP->new->canonical->encode($cfg);
    $json =~ s{</}{<\\/}g;
    write_file("$self->{dir}/$host-pages/$name.html",
               slurp("$E2E/$template") =~ s/__CONFIG__/$json/r);
    unlink "$self->{dir}/$host-pages/$name.json";
    return "$ORIGIN/$name.html";
}

# One call: the media peer (Chromium) in the vendor namespace, then the
# office's browser; returns the office page's result, with the vendor's
# records of this call.  Options: browser, name, call (1), uploads,
# upload_gap_ms, messages, probes, transports, timeout, during (code run
# once the office browser started); peer_video (1: the media peer sends its
# camera), peer_mangle (0: it changes a byte of one echoed message),
# ice_urls (the page's TURN URLs, with the proxy object's credentials,
# instead of turn:URL?transport=T for each of transports).
sub call {
    my ($self, %o) = @_;
    my $name = $o{name} || 'call' . ++$self->{calls};
    my $browser = $o{browser} || 'chromium';
    my $timeout = $o{timeout} || 40;
    my $room = "$name-$$";
    my %r;
    my $do_call = $o{call} // 1;
    if ($do_call) {
        my @signal = map { "wss://$_.signaling.test/" }
                     ('a', $self->{signal_nodes} > 1 ? 'b' : ());
        my $url = $self->page('vendor', "peer-$name", 'peer.html',
            {name => "peer-$name", room => $room, signal => \@signal,
             video => $o{peer_video} // 1 ? JSON::PP::true : JSON::PP::false,
             mangle => $o{peer_mangle} ? JSON::PP::true : JSON::PP::false,
             pageMs => $timeout * 1000});
        $self->chromium("peer-$name", 'vendor', $url);
        my $want = $self->{signal_nodes} > 1
                   ? scalar(grep { $self->alive("signal-$_") } 'a', 'b') : 1;
        wait_for(15, sub {
            my @m = grep { $_->{path} eq "/$room" }
                    @{json_lines("$self->{dir}/vendor/signal.jsonl")};
            @m >= $want;
        }) or $r{setup_error} = 'the media peer did not reach signaling';
    }
    my $url = $self->page('office', $name, 'office.html', {
        name => $name, room => $room, $self->proxy_source,
        call => $do_call ? JSON::PP::true : JSON::PP::false,
        uploads => $o{uploads} // 5, uploadGapMs => $o{upload_gap_ms} // 100,
        messages => $o{messages} // 20, probeSessions => $o{probes} // 0,
        frames => 10, gatherMs => 3000,
        transports => $o{transports} || ['udp', 'tcp'],
        $o{ice_urls} ? (iceUrls => $o{ice_urls}) : (),
        wsMs => 5000, pageMs => ($timeout - 3) * 1000});
    my $t0 = time;
    $browser eq 'firefox' ? $self->firefox($name, 'office', $url)
                          : $self->chromium($name, 'office', $url);
    $o{during}->($self) if $o{during};
    my $res = "$self->{dir}/office-pages/$name.json";
    wait_for($timeout, sub { -s $res });
    my $page = eval { decode_json(slurp($res)) };
    $self->stop("browser-$name", 5);
    $self->stop("browser-peer-$name", 5) if $do_call;
    $page ||= {error => "no result from the page within ${timeout}s"};
    %r = (%$page, %r, browser => $browser, room => $room,
          seconds => sprintf('%.1f', time - $t0));
    return \%r;
}

# The diagnostics page (trtc_diagnostics) instead of a call: the office's
# browser opens https://proxy.test/trtc/check?format=json, which runs its
# tests and posts its result (report=on); the newest stored report is the
# page's own JSON.  Returns that result with the report's seq, client,
# user_agent, the browser, the seconds it took, "console" (the page's
# console errors and warnings, from the browser's log) and "screenshot": the
# result as the user saw it (?show=SEQ, drawn by headless Chromium's
# --screenshot in the office), saved as diag-NAME.png next to the logs.
# Options: browser, name, timeout.
sub diagnose {
    my ($self, %o) = @_;
    my $name = 'diag-' . ($o{name} || ++$self->{calls});
    my $browser = $o{browser} || 'chromium';
    my $timeout = $o{timeout} || 40;
    my $count = sub {
        my $st = eval { decode_json($self->office_get('/trtc/status')) }
            or return;
        my $t = $st->{diagnostics}{reports_total} or return;
        return ($t->{done} + $t->{blocked}, $st->{diagnostics}{reports}[0]);
    };
    my ($before) = $count->();
    my $t0 = time;
    my $url = 'https://proxy.test/trtc/check?format=json';
    # the page's console goes to the browser's log (browser-NAME.log)
    if ($browser eq 'firefox') {
        $self->firefox($name, 'office', $url, 'user_pref('
                       . '"devtools.console.stdout.content", true);' . "\n");
    } else {
        $self->spawn("browser-$name", 'office', $self->chromium_cmd($name),
                     '--enable-logging=stderr', '--v=0', $url);
    }
    my $rep;
    wait_for($timeout, sub {
        my ($n, $last) = $count->();
        $rep = $last if defined $n && defined $before && $n > $before;
        $rep;
    });
    my $seconds = sprintf('%.1f', time - $t0);
    $self->stop("browser-$name", 5);
    return {error => "no report from the page within ${timeout}s",
            browser => $browser} unless $rep;
    my $png = "$self->{dir}/$name.png";
    TrtcTest::Turn::run(30, 'ip', 'netns', 'exec', $self->ns('office'),
        $self->chromium_cmd("$name-shot"), '--hide-scrollbars',
        '--window-size=800,1200', "--screenshot=$png",
        "https://proxy.test/trtc/check?show=$rep->{seq}");
    write_file("$self->{dir}/$name.json",
               JSON::PP->new->canonical->pretty->encode($rep));
    my @console = grep {
        /:CONSOLE[:(]|^console\.(error|warn)|^JavaScript (error|warning)/
    } split /\n/, slurp("$self->{dir}/browser-$name.log");
    return {%{$rep->{result}}, (map { $_ => $rep->{$_} }
                                qw(seq client user_agent)),
            browser => $browser, seconds => $seconds, console => \@console,
            screenshot => -s $png ? $png : undef};
}

# The vendor's records of a call's log uploads, once they stop changing
# (spooled uploads are replayed later).
sub uploads_seen {
    my ($self, $r, $expect, $timeout) = @_;
    my $get = sub {
        [grep { ($_->{body} // '') =~ /"run":"\Q$r->{name}\E"/
                && $_->{status} == 200 }
         @{json_lines("$self->{dir}/vendor/logs.jsonl")}];
    };
    wait_for($timeout // 10, sub { @{$get->()} >= $expect });
    return $get->();
}


# --- the checks ---------------------------------------------------------

# name => [ok, why] for one call's result (see t/e2e/README.md).
sub checks {
    my ($self, $r, %o) = @_;
    my %c;
    my @cands = @{$r->{cands} || []};
    my @relay = grep { / typ relay / } @cands;
    my @ext = map { $self->{stack} eq 'reference' ? $IP{edge} : $_ }
              $self->turn_addrs;
    my @auth = grep { ($_->{code} // 0) == 401 } @{$r->{candErrors} || []};
    my $p = $r->{proxy} || {};
    my @ts = ref $p->{turnServer} eq 'ARRAY' ? @{$p->{turnServer}}
           : $p->{turnServer} ? ($p->{turnServer}) : ();

    my @miss = grep { !$p->{$_} } qw(websocketProxy loggerProxy);
    push @miss, 'turnServer' unless @ts && !grep {
        !$_->{url} || !$_->{username} || !$_->{credential} } @ts;
    $c{proxy} = !$r->{staticProxy} && defined $r->{proxyStatus}
                && $r->{proxyStatus} != 200
        ? [0, "GET /trtc/proxy answered $r->{proxyStatus}"]
        : @miss ? [0, "proxy object without @miss"]
        : @auth ? [0, 'TURN refused its credentials: 401']
        : !@relay ? [0, 'no relay candidate with its credentials']
        : [1, ($r->{staticProxy} ? 'written in the page'
               : 'served by /trtc/proxy')
              . ', and the TURN server accepts its credentials'];

    my @sig = grep { $_->{path} eq "/$r->{room}" && $_->{peer} ne $IP{vendor}
                     && $_->{peer} ne $IP{vendor2} }
              @{json_lines("$self->{dir}/vendor/signal.jsonl")};
    my @refused = @{json_lines("$self->{dir}/vendor/signal.jsonl.refused")};
    $c{signaling} = !defined $r->{node}
        ? [0, 'no hello through /ws/' . (@refused ? sprintf(
              ' (the signaling server refused %d TLS handshakes with SNI '
              . '%s)', scalar @refused, $refused[-1]{sni} // 'none') : '')]
        : !@sig ? [0, 'no session of the office at the signaling server']
        : $sig[0]{peer} ne $IP{edge}
        ? [0, "the session came from $sig[0]{peer}, not the edge"]
        : [1, "session through /ws/ at node $r->{node}"];

    my $n = scalar @{$r->{uploads} || []};
    my $seen = $self->uploads_seen($r, $n, $o{upload_wait});
    my @seq = map { decode_json($_->{body})->{seq} } @$seen;
    my @bad = grep { !defined $_->{status} || $_->{status} !~ /^2/ }
              @{$r->{uploads} || []};
    my @lrefused = @{json_lines("$self->{dir}/vendor/logs.jsonl.refused")};
    $c{logs} = !$n ? [0, 'the page made no upload']
        : @bad ? [0, sprintf('the page saw %d of %d uploads fail: %s',
                 scalar @bad, $n, $bad[0]{error} // $bad[0]{status})
                 . (@lrefused ? '; the log service refused TLS handshakes'
                    . ' with SNI ' . ($lrefused[-1]{sni} // 'none') : '')]
        : "@seq" ne join(' ', 0 .. $n - 1)
        ? [0, "the log service got uploads [@seq], not 0..${\($n - 1)}"]
        : [1, "$n uploads arrived once, in order, 2xx each"];

    my @ours = grep { my $c = $_; grep { $c =~ / \Q$_\E \d+ typ relay / }
                                  @ext } @relay;
    $c{relay} = !@relay ? [0, 'no relay candidate'
                           . (@{$r->{candErrors} || []} ? ': errors '
                              . join(',', map { $_->{code} // '?' }
                                     @{$r->{candErrors}}) : '')]
        : !@ours ? [0, "relay candidates not on @ext: @relay"]
        : [1, scalar(@ours) . ' relay candidate(s) on the edge'];

    my @sent = @{$r->{sent} || []};
    my @echo = @{$r->{echoed} || []};
    my $same = @sent && @sent == @echo
               && !grep { $sent[$_] ne $echo[$_] } 0 .. $#sent;
    $c{echo} = !@sent ? [0, 'the data channel never opened'
                         . ($r->{error} ? " ($r->{error})" : '')]
        : $same ? [1, scalar(@sent) . ' messages echoed byte for byte']
        : [0, sprintf('%d sent, %d echoed, %s', scalar @sent, scalar @echo,
                      @echo == @sent ? 'some differ' : 'not all back')];

    my $pair = $r->{pair} || {};
    my $lt = $pair->{local}{type} // '-';
    my $frames = ($r->{video} || {})->{framesDecoded} // 0;
    my $rp = $pair->{local}{relayProtocol};
    $c{video} = $lt ne 'relay' ? [0, "selected pair's local candidate "
                                  . "is $lt, not relay"]
        : $o{relay_protocol} && ($rp // '') ne $o{relay_protocol}
        ? [0, 'relayed over ' . ($rp // '?') . ", not $o{relay_protocol}"]
        : $frames < 10 ? [0, "$frames inbound video frames decoded, not 10"]
        : [1, "$frames frames decoded over a relay pair ("
              . ($pair->{local}{relayProtocol} // '?') . ')'];
    return %c;
}

our @CHECKS = qw(proxy signaling logs relay echo video);

# Runs the checks as tests: every one must pass, except those in
# %$expect (name => reason), which must fail (the reason is shown).
sub check_ok {
    my ($self, $label, $r, $expect, %o) = @_;
    my %c = $self->checks($r, %o);
    my $tb = Test::More->builder;
    my $failed = grep { !$_ } $tb->summary;
    for my $k (@CHECKS) {
        my ($ok, $why) = @{$c{$k}};
        if (my $reason = ($expect || {})->{$k}) {
            Test::More::ok(!$ok, "$label: $k fails as expected "
                           . "($reason): $why");
        } elsif (my $todo = ($o{todo} || {})->{$k}) {
            $tb->todo_start($todo);
            Test::More::ok($ok, "$label: $k: $why");
            $tb->todo_end;
        } else {
            Test::More::ok($ok, "$label: $k: $why");
        }
    }
    if (grep({ !$_ } $tb->summary) > $failed) {
        Test::More::diag("$label: page result: "
            . JSON::PP->new->canonical->encode(
                {map { $_ => $r->{$_} } grep { !/^(sent|echoed)$/ }
                 keys %$r}));
        Test::More::diag("logs under $self->{dir}")
            if $ENV{TRTC_E2E_KEEP};
    }
    return \%c;
}
sub cleanup {
    my $self = shift;
    return if $self->{cleaned}++;
    $self->stop($_, 3) for sort keys %{$self->{procs}};
    for my $ns (@{$self->{netns} || []}) {
        system('ip', 'netns', 'del', $ns);
        remove_tree("/etc/netns/$ns");
    }
}

sub DESTROY { local ($?, $@); $_[0]->cleanup }

1;
