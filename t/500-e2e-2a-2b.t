#!/usr/bin/perl

# End to end, our stack (nginx with the module, turnd, one credentials
# file): a browser in an office behind a corporate firewall calls a media
# peer at the vendor, as TRTC's Web SDK does with the proxy object from
# /trtc/proxy.  The tutorial's Solutions 2-A (the edge outside: 443/tcp and
# 3478 udp+tcp open), 2-A with TCP only, and 2-B (the edge inside, only it
# reaches the vendor), with Chromium and Firefox ESR.  One topology; each
# scenario swaps the firewall's rule set.  Two more, whose failures are
# asserted: an impostor between edge and vendor (a certificate from a CA
# nobody trusts: nginx must refuse it), and the HTTPS-only office (443/tcp
# alone) against this edge, which has no TURN on 443 (t/550's edge shares
# 443 with turnd and passes).  See t/e2e/README.md.
#
# TRTC_E2E_SCENARIO=2-B TRTC_E2E_BROWSER=firefox runs one;
# TRTC_E2E_KEEP=DIR keeps configs, logs and page results.

use strict;
use warnings;

use Test::More;
use TrtcTest::E2E;

my @scenarios = TrtcTest::E2E::pick('SCENARIO', '2-A', '2-A-tcp', '2-B',
                                    'impostor', 'https-only');
my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers);

# Failures that are the right outcome (impostor; this edge without TURN
# on 443 behind an HTTPS-only firewall).
my $MITM = "nginx verifies the vendor's certificate and refuses the "
         . "impostor's";
my $NO_TURN_443 = 'this edge has no TURN on 443/tcp (t/550 has)';
my %EXPECT = (
    impostor => {signaling => $MITM, logs => "$MITM: spooled, never "
                 . 'delivered', echo => 'no signaling, no call',
                 video => 'no signaling, no call'},
    'https-only' => {proxy => $NO_TURN_443, relay => $NO_TURN_443,
                     echo => 'no media path', video => 'no media path'},
);

my $h = TrtcTest::E2E->start_ok(stack => 'ours') or done_testing, exit;

for my $sc (@scenarios) {
    $h->firewall($sc eq 'impostor' ? '2-A' : $sc);
    ok($h->wait_up, "ours $sc: every checked peer up before");
    $h->impostor(1) if $sc eq 'impostor';
    for my $br (@browsers) {
        my $r = $h->call(browser => $br, name => "$sc-$br",
                         $EXPECT{$sc} ? (timeout => 15) : ());
        $h->check_ok("ours $sc $br", $r, $EXPECT{$sc},
                     $sc eq '2-A-tcp' ? (relay_protocol => 'tcp') : (),
                     $EXPECT{$sc} ? (upload_wait => 3) : ());
        note("ours $sc $br: call took $r->{seconds} s");
    }
    $h->impostor(0) if $sc eq 'impostor';
}

done_testing;
