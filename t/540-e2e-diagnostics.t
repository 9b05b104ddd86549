#!/usr/bin/perl

# trtc_diagnostics end to end: the office's browser (Chromium and Firefox
# ESR) opens the diagnostics page of the edge under each firewall, and
# every verdict is asserted from the page's own JSON (the report it posts
# back, report=on):
#
# The edge shares its 443 as README's "Deploying: one port 443" says
# (port443: nginx's stream module in front of nginx http and turnd), so
# /trtc/proxy hands out, in order, turn:EDGE:3478?transport=udp,
# turn:EDGE:443?transport=tcp and turns:proxy.test:443, each while its own
# trtc_check passes, and the page tests each of them:
#
#   all open (2-A)    "done", every path green, nothing to allow
#   TCP only          TURN/UDP red, "allow EDGE 3478/udp" (words, nft,
#                     iptables), the rest green, still "done" (TCP carries)
#   HTTPS only        TURN/UDP red, "allow EDGE 3478/udp", TURN/TCP and
#                     TURN/TLS on 443 green: "done", a call works from
#                     behind that firewall (an edge without TURN on 443
#                     gets "blocked" there, both 3478 paths to allow)
#   turnd stopped     TURN red for the operator on each configured path
#                     (/trtc/proxy hands out no TURN server), the status
#                     page says why, "blocked"
#   signaling down    signaling red for the operator, TURN green, "blocked"
#
# Then: the page's test WebSockets and uploads are counted apart from real
# traffic, and the stored reports survive a reload.  A screenshot of each
# run (the stored result drawn by Chromium) is kept with the logs:
# TRTC_E2E_KEEP=DIR, and always in t/servroot_540/.

use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(make_path remove_tree);
use JSON::PP;
use Test::More;
use TrtcTest::E2E;

my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers);

my $E = $TrtcTest::E2E::IP{edge};
my $shots = 't/servroot_540';
remove_tree($shots);
make_path($shots);

my $h = TrtcTest::E2E->start_ok(stack => 'ours', relay_peers => 1,
                                port443 => 1)
    or done_testing, exit;

my $status = sub { decode_json($h->office_get('/trtc/status')) };
my $wait_proxy = sub {
    my $code = shift;
    TrtcTest::E2E::wait_for(TrtcTest::E2E::detection() + 3, sub {
        $h->office_get('/trtc/proxy', 1) eq $code });
};

# name, rule set, break, mend, verdict, red paths, to allow, extra checks
my @cases = (
    ['all open', '2-A', undef, undef, 'done', [], []],
    ['TCP only', '2-A-tcp', undef, undef, 'done', ['turn-udp'],
     ["$E 3478/udp"]],
    ['HTTPS only', 'https-only', undef, undef, 'done', ['turn-udp'],
     ["$E 3478/udp"],
     sub {
         my ($label, $r) = @_;
         my @on443 = sort map { "$_->{id}:" . ($_->{ok} ? 'ok' : 'red') }
                     grep { $_->{id} =~ /^turn-(tcp|tls)@/ } @{ $r->{paths} };
         is("@on443", "turn-tcp\@$E:443:ok turn-tls\@proxy.test:443:ok",
            "$label: TURN over TCP and over TLS on 443 carry the call");
     }],
    ['turnd stopped', '2-A',
     sub { $h->stop('turn0'); $wait_proxy->('503') },
     sub { $h->start_turn(0); $wait_proxy->('200') },
     'blocked', ['turn-udp', 'turn-tcp', 'turn-tls'], [],
     sub {
         my ($label, $r) = @_;
         my @turn = sort map { $_->{id} } grep {
             $_->{id} =~ /^turn-/ && $_->{operator} } @{ $r->{paths} };
         is("@turn", "turn-tcp\@$E:443 turn-tls\@$E:443 "
            . "turn-udp\@$E:3478", "$label: each configured TURN path "
            . "named for the operator, once");
         like(join(' ', @{ $r->{operator} || [] }),
              qr/health check finds this TURN server down/,
              "$label: the page says the proxy's check finds it down");
         my ($peer) = @{ $status->()->{upstreams}{trtc_turn}{peers} };
         ok($peer->{state} eq 'down' && length $peer->{last_error},
            "$label: the status page says why: $peer->{name} "
            . "$peer->{state}: $peer->{last_error}");
     }],
    ['signaling down', '2-A',
     sub { $h->stop('signal-a') },
     sub { $h->start_signal('a') },
     'blocked', ['signaling'], [],
     sub {
         my ($label, $r) = @_;
         like(join(' ', @{ $r->{operator} || [] }),
              qr/proxy could not reach its signaling service/,
              "$label: signaling named for the operator, not the firewall");
     }],
);

my $runs = 0;
for my $case (@cases) {
    my ($what, $rules, $break, $mend, $verdict, $red, $allow, $more)
        = @$case;
    $h->firewall($rules);
    ok($h->wait_up, "diagnostics $what: every checked peer up before");
    $break->() if $break;
    for my $br (@browsers) {
        my $label = "diagnostics $what $br";
        my $r = $h->diagnose(browser => $br, name => "$rules-$br-"
                             . ($what =~ s/\W+/-/gr), timeout => 40);
        $runs++;
        is($r->{error}, undef, "$label: the page reported");
        is($r->{verdict}, $verdict, "$label: verdict $verdict");
        my %ids = map { ($_->{id} =~ s/@.*//r) => $_ } @{ $r->{paths} || [] };
        is(join(' ', sort keys %ids),
           'https logger signaling turn-tcp turn-tls turn-udp',
           "$label: every path tested, TURN per transport");
        my @got_red = sort grep { !$ids{$_}{ok} } keys %ids;
        is("@got_red", join(' ', sort @$red), "$label: red: @$red; the "
           . "rest green")
            or diag(JSON::PP->new->canonical->encode($r->{paths}));
        is_deeply($r->{allow_text}, [map { "allow $_" } @$allow],
                  "$label: to allow: " . (join(', ', @$allow) || 'nothing'));
        for my $a (@$allow) {
            my ($ip, $port, $proto) = $a =~ m{^(\S+) (\d+)/(\w+)$};
            my $nft = "nft add rule inet filter forward ip daddr $ip "
                    . "$proto dport $port accept";
            my $ipt = "iptables -A FORWARD -p $proto -d $ip --dport $port "
                    . "-j ACCEPT";
            like($r->{rules}, qr/^\Q$nft\E$/m, "$label: $nft");
            like($r->{rules}, qr/^\Q$ipt\E$/m, "$label: $ipt");
        }
        is($r->{client}, $TrtcTest::E2E::IP{office},
           "$label: stored with the office's address");
        like($r->{user_agent}, $br eq 'firefox' ? qr/Firefox/ : qr/Chrome/,
             "$label: and its user agent");
        ok($r->{screenshot}, "$label: screenshot taken");
        if ($r->{screenshot}) {
            (my $base = $r->{screenshot}) =~ s{.*/}{};
            copy($r->{screenshot}, "$shots/$base");
            (my $json = $r->{screenshot}) =~ s/\.png$/.json/;
            copy($json, "$shots/" . ($base =~ s/\.png$/.json/r));
        }
        is_deeply($r->{console}, [], "$label: no console errors or "
                  . "warnings") if $what eq 'all open';
        $more->($label, $r) if $more;
        note("$label: $r->{seconds} s");
    }
    $mend->() if $mend;
}

# The page's test traffic is told apart: no test WebSocket or upload in
# the counters of real traffic (no call was made by this file).
my $st = $status->();
is($st->{signaling}{sessions_total}, 0,
   'counters: no signaling session counted as real traffic');
is($st->{logger}{uploads_proxied} + $st->{logger}{uploads_spooled}, 0,
   'counters: no log upload counted as real traffic');
ok($st->{tests}{signaling_sessions} >= $runs - @browsers,
   "counters: the page's test sessions counted apart "
   . "($st->{tests}{signaling_sessions})");
ok($st->{tests}{uploads_proxied} >= $runs,
   "counters: the page's test uploads counted apart "
   . "($st->{tests}{uploads_proxied})");
my $total = $st->{diagnostics}{reports_total};
is($total->{done} + $total->{blocked}, $runs,
   "status: $runs reports ($total->{done} done, $total->{blocked} blocked)");

# The reports survive a reload (same zone size).
my $master = $h->{procs}{nginx}{pid};
my $elog = $h->dir . '/edge/error.log';
my $mark = length TrtcTest::E2E::slurp($elog);
kill 'HUP', $master;
ok(TrtcTest::E2E::wait_for(10, sub {
       my $new = substr(TrtcTest::E2E::slurp($elog), $mark);
       $new =~ /start worker process/ && $new =~ /process \d+ exited/ }),
   'reload: new workers started, the old one exited')
    or diag(substr(TrtcTest::E2E::slurp($elog), $mark));
my $after = $status->();
is_deeply([map { $_->{seq} } @{ $after->{diagnostics}{reports} }],
          [map { $_->{seq} } @{ $st->{diagnostics}{reports} }],
          'reload: every stored report is still there');
is_deeply($after->{diagnostics}{reports_total}, $total,
          'reload: the counts by verdict too');

done_testing;
