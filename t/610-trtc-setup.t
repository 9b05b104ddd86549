#!/usr/bin/perl

# trtc-setup (util/trtc-setup) with --root: what it writes for 2-A and
# 2-B, IPv4 and IPv6, the addresses it refuses and why, --dry-run, a second
# run that changes nothing, an operator's edit left alone without --force
# and replaced (with a copy) with it.  The install on a real system, with
# nginx -t and turnd --check-config, is in t/600.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

use TrtcTest::Turn;
use TrtcTest::Util qw(slurp);

my $SETUP = abs_path(dirname(__FILE__) . '/../util/trtc-setup');
my $dir = tempdir('trtc-610-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $root = "$dir/root";

mkdir $root;
mkdir "$root/etc";
mkdir "$root/etc/ssl";
for my $f (qw(c.pem k.pem)) {
    open my $fh, '>', "$root/etc/ssl/$f" or die $!;
}

sub setup {
    my (@args) = @_;
    return TrtcTest::Turn::run(20, $SETUP, '--root', $root,
        '--domain', 'proxy.example.com', '--cert', '/etc/ssl/c.pem',
        '--key', '/etc/ssl/k.pem', @args);
}



# --- addresses refused, with the reason -----------------------------------

my @bad = (
    [ 'proxy.example.com', qr/looks like a host name: give the IPv4 or IPv6/ ],
    [ '1.2.3', qr/not an IPv4 address: has 3 parts; an IPv4 address has 4/ ],
    [ '999.1.1.1', qr/not an IPv4 address: part 999 is above 255/ ],
    [ '1.2.3.4 ', qr/contains blanks/ ],
    [ '10.0.0.4 10.0.0.5', qr/contains blanks/ ],
    [ '1.2.3.4.5', qr/has 5 parts/ ],
    [ '01.2.3.4', qr/leading zero/ ],
    [ '1..2.3', qr/empty part/ ],
    [ '2001:db8:::1', qr/not an IPv6 address: has ":::"/ ],
    [ '2001:db8::1::2', qr/has "::" twice/ ],
    [ '1:2:3:4:5:6:7', qr/has 7 groups; an IPv6 address has 8/ ],
    [ '12345::1', qr/group "12345" has more than 4 hex digits/ ],
    [ 'fe80::1%eth0', qr/not an IPv6 address: has characters other/ ],
    [ '', qr/--address is required/ ],
);

for my $b (@bad) {
    my ($addr, $re) = @$b;
    my $r = setup('--deployment', '2-A', '--address', $addr);
    ok($r->{rc} == 2 && $r->{out} =~ /\Q"$addr"\E|required/
       && $r->{out} =~ $re, "refused: \"$addr\"")
        or diag("rc=$r->{rc}\n$r->{out}");
}

ok(!-e "$root/etc/trtc", 'nothing written on bad input');

{
    my $r = setup('--deployment', '3', '--address', '10.0.0.4');
    ok($r->{rc} == 2 && $r->{out} =~ /use 2-A .* or 2-B/,
       'a deployment other than 2-A or 2-B is refused')
        or diag($r->{out});
}


# --- dry run --------------------------------------------------------------

{
    my $r = setup('--deployment', '2-B', '--address', '10.0.0.4',
                  '--dry-run');
    ok($r->{rc} == 0 && $r->{out} =~ /would create \Q$root\E\/etc\/trtc\/turnd\.conf/
       && $r->{out} =~ /^    external-ip=10\.0\.0\.4$/m
       && $r->{out} =~ /secret <a fresh random secret>/
       && !-e "$root/etc/trtc",
       '--dry-run shows the files (not the secret) and writes nothing')
        or diag($r->{out});
}


# --- 2-B on IPv4 ----------------------------------------------------------

my $r = setup('--deployment', '2-B', '--address', '10.0.0.4');
is($r->{rc}, 0, '2-B, 10.0.0.4: done') or diag($r->{out});

my $cred = slurp("$root/etc/trtc/credentials") // '';
like($cred, qr/^realm\s+proxy\.example\.com\nsecret [0-9a-f]{64}\n\z/,
     'credentials: realm and a 256-bit secret');
is((stat "$root/etc/trtc/credentials")[2] & 07777, 0640,
   'credentials: mode 0640');

my $conf = slurp("$root/etc/trtc/turnd.conf") // '';
like($conf, qr/^external-ip=10\.0\.0\.4$/m, 'turnd.conf: external-ip');
like($conf, qr/^credentials-file=\/etc\/trtc\/credentials$/m,
     'turnd.conf: the shared credentials file');

my $site = slurp("$root/etc/nginx/sites-available/trtc-proxy.conf") // '';
like($site, qr/^\s+server 10\.0\.0\.4:3478;$/m,
     'nginx: the TURN upstream');
like($site, qr/ssl_certificate\s+\/etc\/ssl\/c\.pem;/, 'nginx: the cert');
is(readlink("$root/etc/nginx/sites-enabled/trtc-proxy.conf"),
   '/etc/nginx/sites-available/trtc-proxy.conf', 'nginx: the site enabled');

like($r->{out}, qr/allow this server out:.*TCP 443 to TRTC's domains/s,
     '2-B firewall: the way out, in words');
like($r->{out},
     qr/^\s+nft add rule inet filter forward ip saddr 10\.0\.0\.4 udp sport 49152-65535 accept$/m,
     '2-B firewall: as nftables lines');

$r = turnd_check("$root/etc/trtc/turnd.conf");

# turnd accepts what trtc-setup wrote (the credentials path moved to root)
sub turnd_check {
    my ($f) = @_;
    my $text = slurp($f);
    $text =~ s{^credentials-file=(.*)$}{credentials-file=$root$1}m;
    $text =~ s{^proc-(user|group)=.*$}{}mg;     # no user turnd here
    open my $fh, '>', "$dir/check.conf" or die $!;
    print $fh $text;
    close $fh;
    return TrtcTest::Turn::run(10, TrtcTest::Turn::binary(), '-c',
                               "$dir/check.conf", '--check-config');
}
ok($r->{rc} == 0, 'turnd --check-config accepts turnd.conf')
    or diag($r->{out});


# --- idempotent -----------------------------------------------------------

$r = setup('--deployment', '2-B', '--address', '10.0.0.4');
ok($r->{rc} == 0 && $r->{out} =~ /credentials: kept/
   && $r->{out} =~ /turnd\.conf: unchanged/
   && $r->{out} =~ /trtc-proxy\.conf: unchanged/
   && slurp("$root/etc/trtc/credentials") eq $cred,
   'a second run changes nothing, the secret stays') or diag($r->{out});

# a changed deployment rewrites the files trtc-setup wrote
$r = setup('--deployment', '2-A', '--address', '2001:db8::10');
ok($r->{rc} == 0 && $r->{out} =~ /turnd\.conf: updated/
   && slurp("$root/etc/trtc/turnd.conf") =~ /^external-ip=2001:db8::10$/m
   && slurp("$root/etc/nginx/sites-available/trtc-proxy.conf")
      =~ /server \[2001:db8::10\]:3478;/,
   'IPv6 2-A: its own files are updated') or diag($r->{out});
like($r->{out},
     qr/nft add rule inet filter forward ip6 daddr 2001:db8::10 tcp dport 443 accept/,
     '2-A firewall on IPv6: ip6 rules');
ok(turnd_check("$root/etc/trtc/turnd.conf")->{rc} == 0,
   'turnd --check-config accepts the IPv6 turnd.conf');


# --- the operator's edits -------------------------------------------------

{
    open my $fh, '>>', "$root/etc/trtc/turnd.conf" or die $!;
    print $fh "user-quota=10\n";
}
my $edited = slurp("$root/etc/trtc/turnd.conf");

$r = setup('--deployment', '2-A', '--address', '203.0.113.10');
ok($r->{rc} == 1 && $r->{out} =~ /turnd\.conf: edited since trtc-setup wrote it; left alone/
   && slurp("$root/etc/trtc/turnd.conf") eq $edited,
   'an edited turnd.conf is left alone (exit 1, says why)')
    or diag($r->{out});

$r = setup('--deployment', '2-A', '--address', '203.0.113.10', '--force');
ok($r->{rc} == 0
   && slurp("$root/etc/trtc/turnd.conf") =~ /^external-ip=203\.0\.113\.10$/m
   && slurp("$root/etc/trtc/turnd.conf.trtc-setup-old") eq $edited,
   '--force replaces it and keeps the edited copy') or diag($r->{out});

done_testing;
