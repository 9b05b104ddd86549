#!/usr/bin/perl

# End to end, our stack, things failing during a call (see
# t/e2e/README.md), with Chromium and Firefox ESR in the office behind the
# 2-A firewall:
#
#   log-down     the log service stops in the middle of a call and comes
#                back: every upload reaches it once, in order (nginx spools
#                and replays), and the page sees 2xx for each.
#   signal-fail  two signaling nodes, one killed (its host gone: packets
#                to it dropped): from the check's detection time on every
#                new session goes to the live one, and a new call works.
#   turn-fail    two turnd nodes, one killed: within the detection time
#                /trtc/proxy stops handing it out, and a new call works.
#
# TRTC_E2E_SCENARIO=log-down,... TRTC_E2E_BROWSER=... pick some;
# TRTC_E2E_KEEP=DIR keeps the logs.

use strict;
use warnings;

use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use TrtcTest::E2E;

my %IP = %TrtcTest::E2E::IP;
my @scenarios = TrtcTest::E2E::pick('SCENARIO', 'log-down', 'signal-fail',
                                    'turn-fail');
my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers);

my $h = TrtcTest::E2E->start_ok(stack => 'ours', signal_nodes => 2,
                                turn_nodes => 2) or done_testing, exit;
$h->firewall('2-A');
my $detect = TrtcTest::E2E::detection();

sub log_down {
    my $br = shift;
    my $name = "log-down-$br";
    my ($down, $up);
    my $r = $h->call(browser => $br, name => $name, uploads => 16,
                     upload_gap_ms => 500, timeout => 50, during => sub {
        TrtcTest::E2E::wait_for(20, sub {
            @{$h->uploads_seen({name => $name}, 4, 0)} >= 4 });
        $h->stop('logsink');
        $down = time;
        sleep 3;
        $h->start_logsink;
        $up = time;
    });
    ok($down && $up, "log-down $br: the log service stopped and came back "
       . 'during the call');
    my @while = grep { $_->{t} > $down && $_->{t} < $up }
                @{$r->{uploads} || []};
    ok(@while >= 2, "log-down $br: the page made uploads while the log "
       . 'service was down (' . scalar(@while) . ')');
    # the delivery half of the logs check, apart from what the page saw
    my $seen = $h->uploads_seen($r, 16, 40);
    my @seq = map { decode_json($_->{body})->{seq} } @$seen;
    my $in_order = "@seq" eq join(' ', 0 .. 15);
    my @sorted = sort { $a <=> $b } @seq;
    is("@sorted", join(' ', 0 .. 15),
       "log-down $br: the log service got every upload exactly once");
    # in order of arrival across the outage: uploads made once the
    # service is back queue behind the spooled ones (README, Order)
    ok($in_order, "log-down $br: the log service got them in order (@seq)");
    $h->check_ok("log-down $br", $r, undef, upload_wait => 40);
}

sub signal_fail {
    my $r0 = $h->call(call => 0, probes => 4, name => 'signal-before');
    my %before = map { $_ => 1 } @{$r0->{sessions} || []};
    ok($before{a} && $before{b}, 'signal-fail: before, sessions go to both '
       . "nodes (@{$r0->{sessions} || []})");
    # a dead host, not a refusing one: without the active check nginx
    # would wait for each connection to node a to time out
    $h->stop('signal-a');
    $h->firewall('2-A', undef, "ip daddr $IP{vendor} tcp dport 443 drop");
    my $killed = time;
    sleep $detect + 0.5;
    for my $br (@browsers) {
        my $start = time;
        my $r = $h->call(browser => $br, name => "signal-fail-$br",
                         probes => 4);
        my @s = @{$r->{sessions} || []};
        is("@s", 'b b b b', "signal-fail $br: from "
           . sprintf('%.1f s after node a was killed (detection %.1f s)',
                     $start - $killed, $detect)
           . ', every new session goes to node b');
        $h->check_ok("signal-fail $br", $r);
    }
    like(TrtcTest::E2E::slurp($h->dir . '/edge/error.log'),
         qr/peer \Q$IP{vendor}\E:443 of upstream "trtc_signaling" is down/,
         'signal-fail: nginx logged node a down');
    $h->firewall('2-A');
    $h->start_signal('a');
    ok($h->wait_up, 'signal-fail: node a back up');
}

sub turn_urls {
    my $p = eval { decode_json($h->office_get('/trtc/proxy')) } || {};
    return join ' ', sort map { $_->{url} } ref $p->{turnServer} eq 'ARRAY'
        ? @{$p->{turnServer}} : $p->{turnServer} || ();
}

sub turn_fail {
    is(turn_urls(), "$IP{edge}:3478 $IP{edge2}:3478",
       'turn-fail: before, /trtc/proxy hands out both turnd nodes');
    $h->stop('turn1');
    my $killed = time;
    my $gone = TrtcTest::E2E::wait_for($detect + 1, sub {
        turn_urls() eq "$IP{edge}:3478" });
    my $took = time - $killed;
    ok($gone && $took <= $detect + 1, sprintf('turn-fail: /trtc/proxy '
       . 'stops handing out the dead node within %.1f s (detection %.1f s '
       . '+ 1): %s', $detect + 1, $detect,
       $gone ? sprintf('after %.1f s', $took) : 'still handed out'));
    for my $br (@browsers) {
        my $r = $h->call(browser => $br, name => "turn-fail-$br");
        $h->check_ok("turn-fail $br", $r);
    }
    $h->start_turn(1);
}

for my $sc (@scenarios) {
    if ($sc eq 'log-down') { log_down($_) for @browsers }
    if ($sc eq 'signal-fail') { signal_fail() }
    if ($sc eq 'turn-fail') { turn_fail() }
}

done_testing;
