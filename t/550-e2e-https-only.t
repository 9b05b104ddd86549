#!/usr/bin/perl

# End to end through an HTTPS-only office (issue 13): the firewall lets
# only 443/tcp from the office to the edge, and the edge shares its 443 as
# README's "Deploying: one port 443" says (nginx's stream module,
# ssl_preread, the PROXY protocol to the http server and to turnd).
#
#   https-only       Chromium and Firefox ESR each call, relay only, once
#                    over turns:proxy.test:443 and once over
#                    turn:proxy.test:443?transport=tcp (one URL a call, so
#                    each path is proven alone): the six checks of
#                    t/e2e/README.md pass, the relay pair runs over tls /
#                    tcp; /ws/, /logger/ and /trtc/proxy are on the same
#                    443; the log service and the signaling server see the
#                    office's address in X-Forwarded-For, turnd's
#                    allocations name it; the stream log shows what each
#                    browser's ClientHello offered and where it went.
#   https-only-tls   the firewall also drops flows on 443 whose first
#                    bytes are not a TLS handshake: turns: still works,
#                    turn:...?transport=tcp gets no relay.
#   bad certificate  turnd presents an expired, then a wrong-name
#                    certificate: the browser's turns: call gets no relay
#                    candidate, turnd's log names the alert it got.
#
# TRTC_E2E_BROWSER=firefox, TRTC_E2E_SCENARIO=https-only,https-only-tls,
# bad-cert pick; TRTC_E2E_KEEP=DIR keeps configs and logs.

use strict;
use warnings;

use Test::More;
use TrtcTest::E2E;

my @scenarios = TrtcTest::E2E::pick('SCENARIO', 'https-only',
                                    'https-only-tls', 'bad-cert');
my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers);

my %IP = %TrtcTest::E2E::IP;
my %URL = (tls => 'turns:proxy.test:443?transport=tcp',
           tcp => 'turn:proxy.test:443?transport=tcp');

my $h = TrtcTest::E2E->start_ok(stack => 'ours', port443 => 1)
    or done_testing, exit;
my $turn_log = $h->dir . '/turn0.log';

# One call over URL; its checks (all pass, or those in %$expect fail);
# returns the result.
sub call_ok {
    my ($label, $br, $t, $expect) = @_;
    (my $name = "$label-$br-$t") =~ s/\W+/-/g;
    my $mark = length TrtcTest::E2E::slurp($turn_log);
    my $r = $h->call(browser => $br, name => $name, ice_urls => [$URL{$t}],
                     $expect ? (timeout => 20) : ());
    $r->{turn_log} = substr(TrtcTest::E2E::slurp($turn_log), $mark);
    $h->check_ok("$label $br $URL{$t}", $r, $expect,
                 relay_protocol => $t, $expect ? (upload_wait => 3) : ());
    note("$label $br $t: call took $r->{seconds} s");
    return $r;
}

# The user's address arrived everywhere behind the stream hop.
sub user_seen_ok {
    my ($label, $r) = @_;
    my @up = @{ $h->uploads_seen($r, scalar @{ $r->{uploads} || [] }) };
    my @xff = map { $_->{xff} // 'none' } @up;
    ok(@up && !grep({ $_ ne $IP{office} } @xff),
       "$label: the log service saw X-Forwarded-For $IP{office} "
       . "(got: @xff)");
    my @sig = grep { $_->{path} eq "/$r->{room}" && $_->{peer} eq $IP{edge} }
              @{ TrtcTest::E2E::json_lines($h->dir
                                           . '/vendor/signal.jsonl') };
    is(join(' ', map { $_->{xff} // 'none' } @sig), $IP{office},
       "$label: the signaling server saw X-Forwarded-For $IP{office}");
    my @cl = $r->{turn_log} =~ /allocation created: .*? client \w+ (\S+)/g;
    ok(@cl && !grep({ !/^\Q$IP{office}\E:\d+$/ } @cl),
       "$label: turnd's allocations name the office's address (@cl)");
}

# The stream log's records since record $seen from the office: this
# call's connections (not the edge's own trtc_check probes of 443).
sub hellos {
    my ($seen) = @_;
    my @l = @{ $h->stream_log };
    return [grep { $_->{client} eq $IP{office} } @l[$seen .. $#l]];
}

for my $sc (@scenarios) {
    if ($sc eq 'https-only') {
        $h->firewall('https-only');
        ok($h->wait_up, "$sc: every checked peer up before");
        is($h->office_get('/trtc/proxy', 1), '200',
           "$sc: curl in the office: /trtc/proxy 200 on 443");
        for my $br (@browsers) {
            for my $t ('tls', 'tcp') {
                my $seen = @{ $h->stream_log };
                my $r = call_ok($sc, $br, $t);
                user_seen_ok("$sc $br $t", $r);
                my @to = map { "$_->{to}($_->{tls} sni=$_->{sni} "
                               . "alpn=$_->{alpn})" } @{ hellos($seen) };
                # TURN: TLS 1.3 with the URL's host as SNI and no ALPN
                # (README, Deploying), or no TLS; HTTPS: an HTTP ALPN
                my $turn = $t eq 'tls'
                    ? qr/^127\.0\.0\.1:5349\(TLSv1\.3 sni=proxy\.test alpn=\)$/
                    : qr/^127\.0\.0\.1:3478\( sni= alpn=\)$/;
                my $http = qr/^127\.0\.0\.1:8443\(TLSv1\.[23]\ sni=proxy\.test
                              \ alpn=(h2,)?http\/1\.1\)$/x;
                ok(grep({ /$turn/ } @to)
                   && !grep({ !/$turn/ && !/$http/ } @to),
                   "$sc $br $t: the stream sent TURN to turnd's "
                   . ($t eq 'tls' ? 'TLS' : 'TCP') . ' port, HTTPS to the '
                   . "http server: @to");
            }
        }
    } elsif ($sc eq 'https-only-tls') {
        $h->firewall('https-only-tls');
        ok($h->wait_up, "$sc: every checked peer up before");
        my $none = 'the firewall drops non-TLS on 443';
        for my $br (@browsers) {
            call_ok($sc, $br, 'tls');
            call_ok($sc, $br, 'tcp', {proxy => $none, relay => $none,
                                      echo => 'no relay, no call',
                                      video => 'no relay, no call'});
        }
        my $nft = TrtcTest::Turn::run(10, 'ip', 'netns', 'exec',
            $h->ns('fw'), 'nft', 'list', 'ruleset')->{out};
        my ($drops) = $nft =~ /ct mark 0x0*2 counter packets (\d+)/;
        ok($drops, "$sc: the firewall dropped non-TLS segments on 443 "
           . '(' . ($drops // 0) . ')');
    } elsif ($sc eq 'bad-cert') {
        # Certificates from the run's CA with keys of their own; the
        # office's Chromium trusts the CA through NSS here (Firefox always
        # does), so "fresh" must pass and the others fail for their own
        # fault.  What each browser says in its alert, and Chromium's own
        # reason (net_error in its log):
        my %alert = (chromium => 'certificate unknown',
                     firefox => 'bad certificate');
        my %net = (expired => '-201',       # ERR_CERT_DATE_INVALID
                   'wrong-name' => '-200'); # ERR_CERT_COMMON_NAME_INVALID
        $h->firewall('https-only');
        $h->trust_ca(1);
        for my $bad (['fresh'], ['expired', days => -1],
                     ['wrong-name', names => ['other.test']]) {
            my ($what, %o) = @$bad;
            $h->turn_cert($h->bad_leaf($what, %o));
            for my $br (@browsers) {
                my $r = call_ok("bad-cert $what", $br, 'tls',
                    $what eq 'fresh' ? undef
                    : {proxy => "turnd's certificate is $what",
                       relay => "turnd's certificate is $what",
                       echo => 'no relay, no call',
                       video => 'no relay, no call'});
                next if $what eq 'fresh';
                my @why = $r->{turn_log} =~ /(tls\ connection\ from\ \w+
                    \ \Q$IP{office}\E:\d+\ closed:\ .*)/gx;
                ok(@why && !grep({ !/alert \Q$alert{$br}\E$/ } @why),
                   "bad-cert $what $br: turnd's log says why: "
                   . ($why[0] // 'nothing'));
                next unless $br eq 'chromium';
                my $log = TrtcTest::E2E::slurp($h->dir . '/browser-'
                    . "bad-cert-$what-$br-tls.log");
                my ($err) = $log =~ /handshake failed;.* net_error (-\d+)/;
                is($err, $net{$what}, "bad-cert $what $br: Chromium "
                   . "refused the certificate for that: net_error "
                   . ($err // 'none'));
            }
        }
        $h->turn_cert;
        $h->trust_ca(0);
    }
}

done_testing;
