#!/usr/bin/perl

# The Debian packages as a new user meets them: `make deb` (lintian-clean),
# then in a throw-away root: install both, the module enabled through
# /etc/nginx/modules-enabled and `nginx -t`, `trtc-setup` for 2-A on
# loopback, turnd started as its unit starts it (ExecStart, as the user
# turnd, only CAP_NET_BIND_SERVICE), a request through the installed module
# (/trtc/proxy hands out TURN credentials) and a relay with those
# credentials through the installed turnd (coturn's turnutils_uclient), the
# unit checked by systemd-analyze, an upgrade that keeps the operator's
# files, an nginx of another ABI refused, and a purge that leaves nothing.
#
# The throw-away root: an overlay of this machine's own / (a Debian 12
# with nginx, as the user has it) over a tmpfs, in private mount, network
# and pid namespaces.  dpkg runs every maintainer script for real in it;
# nothing reaches the host, and when the test ends (or dies) the kernel
# drops the namespaces with every process and file in them.  A debootstrap
# chroot would download ~150 packages on every fresh CI run (minutes, and
# the network); dpkg --root runs maintainer scripts chrooted into the root
# anyway, so that root needs a whole system too.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $ROOT_DIR = abs_path(dirname(__FILE__) . '/..');

plan skip_all => 'needs root (dpkg, namespaces)' if $> != 0;
for my $tool (qw(unshare dpkg-buildpackage lintian turnutils_uclient
                 systemd-analyze setpriv curl openssl)) {
    plan skip_all => "$tool not installed (make deps-test)"
        unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
}

# into private namespaces first: this same file runs again as their pid 1
unless ($ENV{TRTC_160_INSIDE}) {
    my $ok = system('unshare', '-m', 'true') == 0;
    plan skip_all => 'cannot make a mount namespace here' unless $ok;

    # the packages, lintian-clean (make deb fails on a warning)
    my $t0 = time;
    my $out = qx(make -s -C $ROOT_DIR deb 2>&1);
    if ($? != 0) {
        plan tests => 1;
        fail('make deb: packages built, lintian-clean');
        diag($out);
        exit 1;
    }
    print "# make deb: ", sprintf('%.0f', time - $t0), " s\n";
    print "# $_\n" for split /\n/, $out;

    $ENV{TRTC_160_INSIDE} = 1;
    exec 'unshare', '-m', '-n', '-p', '-f', '--kill-child',
         '--mount-proc', $^X, (map { "-I$_" } @INC), __FILE__;
    die "exec unshare: $!";
}

pass('make deb: packages built, lintian --fail-on error,warning passed');

my @debs = glob("$ROOT_DIR/build/deb/*.deb");
my ($mod_deb) = grep { m{/libnginx-mod-http-trtc_[^/]*\.deb$} } @debs;
my ($turnd_deb) = grep { m{/turnd_[^/]*\.deb$} } @debs;
BAIL_OUT('no packages in build/deb') unless $mod_deb && $turnd_deb;

# --- the throw-away root ---------------------------------------------------

# removed after its mounts (File::Temp's cleanup would walk into /proc)
my $tmp = tempdir('trtc-160-XXXXXX', TMPDIR => 1, CLEANUP => 0);
my $root = "$tmp/root";

END {
    if ($tmp && $ENV{TRTC_160_INSIDE}) {
        local $?;
        system("umount -R $tmp 2>/dev/null || umount -R -l $tmp");
        rmdir $tmp;
    }
}

sub sh_host {
    my ($cmd) = @_;
    my $out = qx($cmd 2>&1);
    die "$cmd: $out" if $? != 0;
    return $out;
}

sh_host("mount --make-rprivate /");
sh_host("mount -t tmpfs -o size=1g trtc160 $tmp");
mkdir "$tmp/$_" for qw(upper work root);
sh_host("mount -t overlay trtc160ov -o lowerdir=/,upperdir=$tmp/upper,"
        . "workdir=$tmp/work $root");
sh_host("mount -t proc proc $root/proc");
sh_host("mount -t tmpfs tmpfs $root/$_") for qw(run tmp dev);
for my $d (qw(null zero random urandom)) {
    sh_host("touch $root/dev/$d && mount --bind /dev/$d $root/dev/$d");
}
sh_host("ip link set lo up");
mkdir "$root/tmp/debs";
sh_host("cp $mod_deb $turnd_deb $root/tmp/debs/");

# nginx resolves upstream names at load: the TRTC hosts are loopback here
# (and this network namespace has nothing else)
sh_host("printf '127.0.0.1 signaling.rtc.qq.com yun.tim.qq.com proxy.test\\n'"
        . " >> $root/etc/hosts");

my $n = 0;

# runs a shell script in the root: (exit code, output)
sub in_root {
    my ($script) = @_;
    my $f = "/tmp/step" . $n++ . ".sh";
    open my $fh, '>', "$root$f" or die "$root$f: $!";
    print $fh "set -u\nexport PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
              . "export DEBIAN_FRONTEND=noninteractive\n$script\n";
    close $fh;
    my $out = qx(chroot $root sh $f 2>&1);
    my $rc = $? >> 8;
    1 while waitpid(-1, POSIX::WNOHANG()) > 0;     # orphans are ours
    return ($rc, $out);
}

sub step_ok {
    my ($name, $script, $want) = @_;
    my ($rc, $out) = in_root($script);
    my $ok = $rc == 0 && (!$want || $out =~ $want);
    ok($ok, $name) or diag("rc=$rc\n$out");
    return $out;
}

# other nginx modules of this machine: so that only ours can hold nginx back
in_root('dpkg -l "libnginx-mod-*" 2>/dev/null | awk \'/^ii/ {print $2}\' '
        . '| xargs -r dpkg --purge');

# --- install ------------------------------------------------------------

step_ok('dpkg -i: both packages install',
        'dpkg -i /tmp/debs/turnd_*.deb /tmp/debs/libnginx-mod-http-trtc_*.deb'
        . ' && dpkg -s turnd libnginx-mod-http-trtc | grep -c "install ok'
        . ' installed"', qr/^2$/m);

step_ok('the module is enabled as Debian enables its own modules',
        'readlink /etc/nginx/modules-enabled/50-mod-http-trtc.conf; '
        . 'cat /usr/share/nginx/modules-available/mod-http-trtc.conf',
        qr{^/usr/share/nginx/modules-available/mod-http-trtc\.conf\n
           load_module\ modules/ngx_http_trtc_module\.so;$}xm);

step_ok('Depends: nginx-abi-1.22.1-7',
        'dpkg-query -W -f \'${Depends}\' libnginx-mod-http-trtc',
        qr/\bnginx-abi-1\.22\.1-7\b/);

step_ok('nginx -t with the module loaded',
        'nginx -t && nginx -T 2>/dev/null | grep "^load_module.*trtc"',
        qr/ngx_http_trtc_module\.so/);

step_ok('the system user turnd and the group trtc exist, turnd in trtc',
        'getent passwd turnd && id -nG turnd',
        qr/^turnd:x:\d+:\d+:[^:]*:\/nonexistent:\/usr\/sbin\/nologin\n
           .*\btrtc\b/xm);

step_ok('/etc/trtc/turnd.conf is a conffile',
        'dpkg-query -W -f \'${Conffiles}\' turnd', qr{/etc/trtc/turnd\.conf});

step_ok('man pages: turnd(8), turnd.conf(5), trtc-setup(8), '
        . 'ngx_http_trtc_module(5)',
        'for p in 8/turnd 5/turnd.conf 8/trtc-setup 5/ngx_http_trtc_module;'
        . ' do test -f /usr/share/man/man${p%%/*}/${p#*/}.${p%%/*}.gz'
        . ' || exit 1; done; echo ok', qr/^ok$/m);

# --- the unit ---------------------------------------------------------------

step_ok('systemd-analyze verify turnd.service: no problem',
        'out=$(systemd-analyze verify /lib/systemd/system/turnd.service 2>&1);'
        . ' rc=$?; echo "$out"; test $rc = 0 && test -z "$out"');

{
    my $out = step_ok('systemd-analyze security --offline=true: OK or better',
        'systemd-analyze security --offline=true '
        . '/lib/systemd/system/turnd.service',
        qr/Overall exposure level for turnd\.service: \d+\.\d+ (OK|SAFE)/);
    my ($line) = $out =~ /(Overall exposure level[^\n]*)/;
    print "# $line\n" if $line;
}

# --- trtc-setup for 2-A on loopback ---------------------------------------

step_ok('a certificate for proxy.test',
        'mkdir -p /etc/ssl/proxy-test && openssl req -x509 -newkey rsa:2048 -nodes'
        . ' -subj /CN=proxy.test -days 2 -keyout /etc/ssl/proxy-test/key.pem'
        . ' -out /etc/ssl/proxy-test/cert.pem 2>&1');

my $setup = 'trtc-setup --deployment 2-A --address 127.0.0.1'
    . ' --domain proxy.test --cert /etc/ssl/proxy-test/cert.pem'
    . ' --key /etc/ssl/proxy-test/key.pem --min-port 49152 --max-port 49999'
    . ' --turnd-option allow-loopback-peers';

step_ok('trtc-setup 2-A: writes the files, nginx -t and turnd '
        . '--check-config pass, prints the firewall rules',
        $setup, qr/test is successful.*nft add rule inet filter input/s);

step_ok('credentials: mode 0640, group trtc, a fresh secret',
        'stat -c "%a %G" /etc/trtc/credentials; cat /etc/trtc/credentials',
        qr/^640 trtc\nrealm\s+proxy\.test\nsecret [0-9a-f]{64}$/m);

step_ok('www-data (nginx workers) joined the group trtc',
        'id -nG www-data', qr/\btrtc\b/);

step_ok('trtc-setup again: nothing changes',
        $setup, qr/credentials: kept.*turnd\.conf: unchanged/s);

# --- start both, as the unit and nginx's own scripts would ----------------

my ($exec) = do {
    open my $fh, '<', "$root/lib/systemd/system/turnd.service" or die $!;
    map { /^ExecStart=(.*)$/ ? $1 : () } <$fh>;
};
ok($exec, "ExecStart: $exec");

step_ok('turnd started as its unit: ExecStart as turnd, '
        . 'CAP_NET_BIND_SERVICE only',
        "mkdir -p /run/turnd && chown turnd:turnd /run/turnd\n"
        . "setpriv --reuid turnd --regid turnd --init-groups"
        . " --inh-caps=-all,+net_bind_service"
        . " --ambient-caps=-all,+net_bind_service"
        . " --bounding-set=-all,+net_bind_service"
        . " $exec > /tmp/turnd.log 2>&1 &\n"
        . "for i in \$(seq 50); do\n"
        . "  grep -q 'turnd ready' /tmp/turnd.log && break; sleep 0.1\n"
        . "done\n"
        . "cat /tmp/turnd.log; pid=\$(cat /run/turnd/turnd.pid)\n"
        . "grep -E '^(Uid|CapEff)' /proc/\$pid/status",
        qr/turnd ready.*Uid:\s+(\d+)\s+\1.*CapEff:\s+0000000000000400/s);

step_ok('nginx starts', 'nginx && sleep 0.5 && pgrep -x nginx | head -1',
        qr/^\d+$/m);

# the module's credentials for the installed turnd, once its check passed
my ($user, $pass);
{
    my $end = time + 20;
    my $out = '';
    while (time < $end) {
        (undef, $out) = in_root('curl -sk --resolve proxy.test:443:127.0.0.1'
                                . ' https://proxy.test/trtc/proxy');
        ($user, $pass) = $out =~ /"turnServer":\{"url":"127\.0\.0\.1:3478",
                                   "username":"([^"]+)",
                                   "credential":"([^"]+)"/x;
        last if $user;
        sleep 0.5;
    }
    ok($user, 'a request through the installed module: /trtc/proxy '
              . 'hands out credentials for the installed turnd')
        or diag($out);
}

step_ok('a relay through the installed turnd with those credentials '
        . '(turnutils_uclient)',
        "turnutils_peer -L 127.0.0.1 -p 3480 >/dev/null 2>&1 &\n"
        . "peer=\$!; sleep 0.3\n"
        . "timeout 30 turnutils_uclient -p 3478 -e 127.0.0.1 -r 3480 -n 20"
        . " -m 1 -l 100 -X -z 5 -u '" . ($user // 'x') . "' -w '"
        . ($pass // 'x') . "' 127.0.0.1 2>&1 | grep tot_send_msgs\n"
        . "kill \$peer",
        qr/tot_send_msgs=(\d+), tot_recv_msgs=\1\s*$/m);

step_ok('turnd\'s metrics on 127.0.0.1:9641 saw that relay',
        'curl -s http://127.0.0.1:9641/metrics',
        qr/^turnd_relayed_packets_total\{direction="to_peer"\} [1-9]/m);

# (their parent shell is gone: pid 1 of the namespace, this test, reaps)
step_ok('turnd stops on SIGTERM (pidfile removed), nginx on -s quit',
        'kill $(cat /run/turnd/turnd.pid); nginx -s quit;'
        . ' for i in $(seq 50); do test -e /run/turnd/turnd.pid'
        . ' || test -e /run/nginx.pid || break; sleep 0.1; done;'
        . ' ls /run/turnd/turnd.pid /run/nginx.pid 2>/dev/null;'
        . ' tail -1 /tmp/turnd.log',
        qr/\A(?!.*\/run\/).*notice: turnd stopped\n\z/s);

# --- upgrade --------------------------------------------------------------

step_ok('upgrade to a newer version: the operator\'s files are kept',
        "set -e; cd /tmp; sum=\$(md5sum /etc/trtc/turnd.conf"
        . " /etc/trtc/credentials)\n"
        . "for p in turnd libnginx-mod-http-trtc; do\n"
        . "  rm -rf x; dpkg-deb -R debs/\${p}_*.deb x\n"
        . "  sed -i 's/^Version: .*/&+up1/' x/DEBIAN/control\n"
        . "  dpkg-deb -b x new-\$p.deb >/dev/null\n"
        . "done\n"
        . "dpkg -i --force-confold new-turnd.deb"
        . " new-libnginx-mod-http-trtc.deb >/dev/null\n"
        . "dpkg-query -W -f '\${Version}\\n' turnd\n"
        . "test \"\$(md5sum /etc/trtc/turnd.conf /etc/trtc/credentials)\""
        . " = \"\$sum\" && echo kept\n"
        . "readlink /etc/nginx/modules-enabled/50-mod-http-trtc.conf\n"
        . "nginx -t 2>&1",
        qr/\+up1\nkept\n.*mod-http-trtc\.conf\n.*test is successful/s);

# --- an nginx of another ABI is held back -----------------------------

# a repository with an nginx that provides another ABI: apt upgrade keeps
# nginx back rather than break the module (dpkg itself does not check
# reverse dependencies on an upgrade: apt is the guard, as for Debian's
# own libnginx-mod-* packages)
step_ok('apt upgrade keeps back an nginx of another ABI',
        "set -e; cd /tmp; mkdir -p fake/DEBIAN repo\n"
        . "cat > fake/DEBIAN/control <<EOF\n"
        . "Package: nginx\nVersion: 1.24.0-99\nArchitecture: all\n"
        . "Maintainer: test <t\@example.org>\nProvides: nginx-abi-1.24.0-1\n"
        . "Description: nginx of another ABI\n a test package\nEOF\n"
        . "dpkg-deb -b fake repo/nginx_1.24.0-99_all.deb >/dev/null\n"
        . "(cd repo && dpkg-scanpackages . > Packages 2>/dev/null)\n"
        . "echo 'deb [trusted=yes] file:/tmp/repo ./' > repo.list\n"
        . "A='-o Dir::Etc::sourcelist=/tmp/repo.list"
        . " -o Dir::Etc::sourceparts=- -o Dir::State::lists=/tmp/lists'\n"
        . "mkdir -p /tmp/lists/partial\n"
        . "apt-get \$A update -qq >/dev/null 2>&1\n"
        . "apt-get \$A -s upgrade 2>&1 | sed -n '/kept back/,+1p'\n"
        . "if apt-get \$A -y --no-remove install nginx=1.24.0-99 2>&1; then"
        . " echo INSTALLED; fi\n"
        . "dpkg-query -W -f 'nginx \${Version}\\n' nginx",
        qr/kept back:\n\s+nginx\n(?:(?!INSTALLED).*\n)*nginx 1\.22\.1-/);

# --- purge ----------------------------------------------------------------

step_ok('purge both: nothing of them is left, nginx -t still passes',
        "dpkg --purge turnd libnginx-mod-http-trtc >/dev/null 2>&1 || exit 1\n"
        . "for f in /etc/trtc /var/log/turnd /usr/sbin/turnd"
        . " /usr/sbin/trtc-setup /usr/lib/nginx/modules/ngx_http_trtc_module.so"
        . " /usr/share/nginx/modules-available/mod-http-trtc.conf"
        . " /etc/nginx/modules-enabled/50-mod-http-trtc.conf"
        . " /etc/nginx/sites-available/trtc-proxy.conf"
        . " /etc/nginx/sites-enabled/trtc-proxy.conf"
        . " /lib/systemd/system/turnd.service; do\n"
        . "  if [ -e \$f ] || [ -L \$f ]; then echo LEFT \$f; fi\n"
        . "done\n"
        . "getent passwd turnd && echo LEFT user\n"
        . "getent group turnd && echo LEFT group turnd\n"
        . "getent group trtc && echo LEFT group trtc\n"
        . "ls /var/lib/dpkg/info | grep -E '^(turnd|libnginx-mod-http-trtc)[.:]'"
        . " && echo LEFT dpkg info\n"
        . "rm -rf /etc/ssl/proxy-test\n"
        . "nginx -t 2>&1",
        qr/\A(?!.*LEFT).*test is successful/s);

# what the whole run changed in the root, by name
{
    # (but man's page cache: systemd-analyze verify ran man on them)
    my $find = "find $tmp/upper -path '*/var/cache/man' -prune -o"
               . " '(' -iname '*trtc*' -o -iname '*turnd*' ')' -print";
    my $left = qx($find);
    is($left, '', 'the overlay holds no file named after them');
}

done_testing;
