#!/usr/bin/perl

# The e2e checks can fail: each path of a call broken on purpose, our
# stack, 2-A, Chromium in the office.  Every check must fail when (and
# only when) its path is broken; the others still pass.  See
# t/e2e/README.md.

use strict;
use warnings;

use Test::More;
use TrtcTest::E2E;

TrtcTest::E2E::need('chromium');
my $h = TrtcTest::E2E->start_ok(stack => 'ours') or done_testing, exit;

my @media = (relay => 'broken', echo => 'no media path',
             video => 'no media path');
my @cases = (
    ['443/tcp closed', {proxy => 'no /trtc/proxy', signaling => 'no /ws/',
                        logs => 'no /logger/', @media},
     sub { $h->firewall('2-A', qr/dport 443 /) }],
    ['3478 closed', {proxy => 'credentials unusable', @media},
     sub { $h->firewall('2-A', qr/dport 3478 /) }],
    ['turnd stopped', {proxy => '503', signaling => 'no proxy object',
                       logs => 'no proxy object', @media},
     sub {
         $h->stop('turn0');
         # the call starts once the check has seen it (the 503 is tested)
         TrtcTest::E2E::wait_for(TrtcTest::E2E::detection() + 2, sub {
             $h->office_get('/trtc/proxy', 1) eq '503' });
     },
     sub {
         $h->start_turn(0);
         TrtcTest::E2E::wait_for(TrtcTest::E2E::detection() + 2, sub {
             $h->office_get('/trtc/proxy', 1) eq '200' });
     }],
    ['turnd with another secret', {proxy => '401', @media},
     sub { $h->turn_wrong_secret(0, 1) },
     sub { $h->turn_wrong_secret(0, 0) }],
    ['log service refusing (503)', {logs => 'nothing delivered'},
     sub { $h->logsink_answer(503) }, sub { $h->logsink_answer(200) }],
    ['edge cut off from the vendor', {signaling => 'no upstream',
                                      logs => 'spooled, never delivered',
                                      echo => 'no call', video => 'no call'},
     sub { $h->firewall('2-A', qr/"e", "v"/) }],
    ['media peer without a camera', {video => 'nothing to decode'},
     sub {}, undef, peer_video => 0],
    ['media peer changing a byte', {echo => 'one message differs'},
     sub {}, undef, peer_mangle => 1],
);

for my $case (@cases) {
    my ($what, $expect, $break, $mend, @opt) = @$case;
    $h->firewall('2-A');
    ok($h->wait_up, "broken: $what: every checked peer up before");
    $break->();
    my $r = $h->call(name => "broken-" . ($what =~ s/\W+/-/gr),
                     timeout => 15, @opt);
    my $c = $h->check_ok("broken: $what", $r, $expect, upload_wait => 3);
    like($c->{proxy}[1], qr/$expect->{proxy}/, "broken: $what: the proxy "
         . "check names the $expect->{proxy}")
        if $expect->{proxy} && $expect->{proxy} =~ /^\d+$/;
    $mend->() if $mend;
}

done_testing;
