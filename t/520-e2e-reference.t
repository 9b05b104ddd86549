#!/usr/bin/perl

# End to end, the tutorial's own stack as the reference (see
# t/e2e/README.md): stock nginx with exactly the tutorial's server block
# (its names and certificate paths made ours), coturn with the file the
# tutorial's turn.sh writes, and the tutorial's static proxy object, in the
# same topology and scenarios as t/500.  What fails is asserted to fail,
# with its reason: these are the matrix of README, measured.
#
# Twice: against a vendor whose services need SNI (as TRTC's, behind their
# front ends), and against one that takes TLS without SNI, which shows what
# the rest of the tutorial's stack does once signaling gets through.

use strict;
use warnings;

use Test::More;
use TrtcTest::E2E;

my @scenarios = TrtcTest::E2E::pick('SCENARIO', '2-A', '2-A-tcp', '2-B',
                                    'impostor');
my @browsers = TrtcTest::E2E::pick('BROWSER', 'chromium', 'firefox');
TrtcTest::E2E::need(@browsers, 'coturn');

my $NO_SNI = "the tutorial's proxy_pass sends no SNI and the vendor "
           . 'refuses a TLS handshake without it';
my %EXPECT = (
    sni => {signaling => $NO_SNI, logs => $NO_SNI,
            echo => 'no signaling, no call', video => 'no signaling, no call'},
    'any-sni' => {},
);

for my $vendor (TrtcTest::E2E::pick('VENDOR', 'sni', 'any-sni')) {
    my $h = TrtcTest::E2E->start_ok(stack => 'reference',
                                    any_sni => $vendor eq 'any-sni')
        or next;
    for my $sc (@scenarios) {
        $h->firewall($sc eq 'impostor' ? '2-A' : $sc);
        $h->impostor(1) if $sc eq 'impostor';
        for my $br (@browsers) {
            my $r = $h->call(browser => $br, name => "$sc-$br");
            my $c = $h->check_ok("reference ($vendor vendor) $sc $br", $r,
                $EXPECT{$vendor},
                $sc eq '2-A-tcp' ? (relay_protocol => 'tcp') : ());
            # the wrong outcome, asserted: nothing is verified upstream
            ok($c->{signaling}[0], "reference ($vendor vendor) impostor "
               . "$br: the tutorial's nginx verifies no certificate: the "
               . "call went through the impostor's signaling server")
                if $sc eq 'impostor' && $vendor eq 'any-sni';
        }
        $h->impostor(0) if $sc eq 'impostor';
    }
    $h->cleanup;
}

done_testing;
