#!/usr/bin/perl

# End to end, our stack (nginx with the module, turnd, one credentials
# file): a browser in an office behind a corporate firewall calls a media
# peer at the vendor, as TRTC's Web SDK does with the proxy object from
# /trtc/proxy.  The tutorial's Solutions 2-A (the edge outside: 443/tcp and
# 3478 udp+tcp open), 2-A with TCP only, and 2-B (the edge inside, only it
# reaches the vendor), with Chromium and Firefox ESR.  One topology; each
# scenario swaps the firewall's rule set.  See t/e2e/README.md.
#
# TRTC_E2E_SCENARIO=2-B TRTC_E2E_BROWSER=firefox runs one;
# TRTC_E2E_KEEP=DIR keeps configs, logs and page results.

use strict;
use warnings;

use Test::More;
use TrtcTest::E2E;

my @scenarios = TrtcTest::E2E::pick('SCENARIO', '2-A', '2-A-tcp', '2-B');
my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers);

my $h = TrtcTest::E2E->start_ok(stack => 'ours') or done_testing, exit;

for my $sc (@scenarios) {
    $h->firewall($sc);
    for my $br (@browsers) {
        my $r = $h->call(browser => $br, name => "$sc-$br");
        $h->check_ok("ours $sc $br", $r, undef,
                     $sc eq '2-A-tcp' ? (relay_protocol => 'tcp') : ());
        note("ours $sc $br: call took $r->{seconds} s");
    }
}

done_testing;
