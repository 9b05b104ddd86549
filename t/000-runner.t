# Tests the project's Test::Nginx::Socket runner (t/lib/Test/Nginx/) by
# running fixture test files (t/runner/*.tt) with stock Debian nginx and
# reading their TAP: good blocks must pass, broken ones must be "not ok".
# Also the test library's free_port (t/lib/TrtcTest/Util.pm): it probes
# the protocol the test will bind.
use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(remove_tree);
use File::Temp qw(tempfile);
use IO::Socket::INET ();
use Time::HiRes qw(time);
use Test::More;

use TrtcTest::Util qw(free_port);

my $root = dirname(dirname(abs_path(__FILE__)));
chdir $root or die "chdir $root: $!";

my $nginx = '/usr/sbin/nginx';
plan skip_all => "$nginx not installed" unless -x $nginx;

# --- free_port: a port held for one protocol is not free for it ---
{
    my %held = map {
        $_ => IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                    Proto => $_,
                                    $_ eq 'tcp' ? (Listen => 1) : ())
              // die "cannot bind $_: $!"
    } qw(udp tcp);
    my $u = $held{udp}->sockport;
    my $t = $held{tcp}->sockport;
    my $try = sub { my $p = eval { free_port(@_) }; $p // 'none' };

    is($try->(proto => 'udp', range => [$u, $u]), 'none',
       'free_port: a port bound for UDP is not free for UDP');
    is($try->(proto => 'both', range => [$u, $u]), 'none',
       'free_port: ... nor for both');
    is($try->(proto => 'udp', n => 2, range => [$u - 1, $u]), 'none',
       'free_port: ... nor as the second of two UDP ports');
    is($try->(proto => 'tcp', range => [$t, $t]), 'none',
       'free_port: a port listening for TCP is not free for TCP');
    is($try->(proto => 'both', range => [$t, $t]), 'none',
       'free_port: ... nor for both');
    is($try->(proto => 'udp', range => [$t, $t]), $t,
       'free_port: ... but free for UDP');
    is($try->(range => [$u, $u]), $u,
       'free_port: TCP (the default) on the UDP-bound port: free');
    like($try->(proto => 'both'), qr/^\d+$/,
         'free_port: some port is free for both');
    is($try->(proto => 'sctp'), 'none', 'free_port: an unknown proto dies');
}

# Runs t/runner/NAME.tt; returns {plan, ok => {desc => 1}, not_ok => {...},
# bail, exit, out, secs}.
sub run_fixture {
    my $name = shift;
    my $port = free_port();
    # per-process servroots: concurrent runs of this file do not collide
    my $servroot = "$root/t/servroot_runner_${$}_$name";
    my (undef, $errf) = tempfile('runner-stderr-XXXXXX', TMPDIR => 1,
                                 UNLINK => 1);
    local %ENV = %ENV;
    delete @ENV{grep { /^TEST_NGINX_/ } keys %ENV};
    $ENV{TEST_NGINX_BINARY} = $nginx;
    $ENV{TEST_NGINX_SERVER_PORT} = $port;
    $ENV{TEST_NGINX_SERVROOT} = $servroot;
    $ENV{TEST_NGINX_NO_SHUFFLE} = 1;

    my $t0 = time;
    my $out = `'$^X' -I t/lib t/runner/$name.tt 2>'$errf'`;
    my %r = (exit => $? >> 8, out => $out, secs => time - $t0,
             ok => {}, not_ok => {}, count => 0, servroot => $servroot);
    for my $l (split /\n/, $out) {
        if ($l =~ /^1\.\.(\d+)/) {
            $r{plan} = $1;
        } elsif ($l =~ /^(not )?ok \d+(?: - | # skip )(.*)$/) {
            my ($failed, $desc) = ($1, $2);
            $desc =~ s{^t/runner/\Q$name\E\.tt }{};
            $r{$failed ? 'not_ok' : 'ok'}{$desc}++;
            $r{count}++;
        } elsif ($l =~ /^Bail out!\s+(.*)/) {
            $r{bail} = $1;
        }
    }
    $r{stderr} = do { local (@ARGV, $/) = $errf; <> } // '';
    unlink $errf;
    return \%r;
}

# Shows the run when something failed (its servroot is kept), else removes
# the servroot (nginx is stopped by then: the fixture's END did it).
sub done_run {
    my ($r, $ok) = @_;
    if ($ok) {
        remove_tree($r->{servroot});
        return;
    }
    diag "TAP:\n$r->{out}\nstderr:\n$r->{stderr}\n"
         . "servroot kept: $r->{servroot}";
}

sub has {
    my ($set, $re) = @_;
    return scalar grep { /$re/ } keys %$set;
}

# --- good blocks pass, and every planned subtest ran ---
{
    my $r = run_fixture('good');
    my $ok = is($r->{exit}, 0, 'good.tt exits 0');
    $ok &= is(scalar keys %{ $r->{not_ok} }, 0, 'good.tt: no "not ok"');
    $ok &= is($r->{count}, $r->{plan}, 'good.tt ran all planned subtests');
    $ok &= is($r->{plan}, 60, 'good.tt plan is 2 repeats x 30');
    for my $re (qr/TEST 1: .* - response_body - response is expected/,
                qr/TEST 2: .* - header X-Foo ok/,
                qr/TEST 3: .* - pattern "No such file or directory" matches/,
                qr/TEST 4: raw_request .* - response_body/,
                qr/TEST 5: tcp_listen .* - tcp_query ok/,
                qr/TEST 6: udp_listen .* - udp_query ok/,
                qr/TEST 6: udp_listen .* - pattern .*fl:0100.* matches/,
                qr/TEST 7: a RAND_PORT .* - response_body/,
                qr/TEST 8: user_files - response_body/,
                qr/TEST 9: a chunked .* - response_body/,
                qr/TEST 10: pipelined .* req 1, req 1\)/,
                qr/TEST 12: must_die .* - die as expected/,
                qr/TEST 12: must_die .* "unknown directive /)
    {
        $ok &= ok(has($r->{ok}, $re), "good.tt: ok $re");
    }
    # repeat_each(2): each repeat has its own subtests
    $ok &= ok(has($r->{ok}, qr/TEST 1: .*repeated req 1, req 0/),
              'good.tt: repeat_each(2) ran the second repeat');
    done_run($r, $ok);
}

# --- broken blocks are reported as failures, not passes ---
{
    my $r = run_fixture('bad');
    my $ok = isnt($r->{exit}, 0, 'bad.tt exits non-zero');
    my %want_fail = (
        'wrong body'        => qr/TEST 1: wrong body - response_body /,
        'wrong status'      => qr/TEST 2: wrong status - status code ok/,
        'absent error_log'  => qr/TEST 3: .* - pattern "this line is never /
                                . qr/logged" should match a line/,
        'present no_error_log' => qr/TEST 4: .* - pattern "No such file or /
                                . qr/directory" should not match any line/,
        'wrong header'      => qr/TEST 5: wrong header - header X-Foo ok/,
        'nginx fails to start' => qr/TEST 6: .* - nginx failed to start: .*/
                                . qr/\[emerg\].*unknown directive /
                                . qr/\\?"bad_directive_xyz\\?"/,
    );
    for my $what (sort keys %want_fail) {
        $ok &= ok(has($r->{not_ok}, $want_fail{$what}),
                  "bad.tt: $what is a \"not ok\"");
        $ok &= ok(!has($r->{ok}, $want_fail{$what}),
                  "bad.tt: $what is not also an \"ok\"");
    }
    # exactly those six, and the checks next to them still pass
    $ok &= is(scalar keys %{ $r->{not_ok} }, 6, 'bad.tt: six failures');
    $ok &= ok(has($r->{ok}, qr/TEST 1: wrong body - status code ok/),
              'bad.tt: the right status of TEST 1 passes');
    $ok &= ok(has($r->{ok}, qr/TEST 7: .* - response_body/),
              'bad.tt: the block after a failed start passes');
    $ok &= like($r->{stderr}, qr/^# nginx: \[emerg\] unknown directive/m,
                'bad.tt: the [emerg] line is in the diagnostics');
    $ok &= like($r->{stderr}, qr{^\# \s command: \s \S*nginx
                                 \s -e \s \S+/logs/error\.log
                                 \s -p \s \S+/
                                 \s -c \s \S+/conf/nginx\.conf$}mx,
                'bad.tt: nginx is started with -e, -p and -c');
    $ok &= cmp_ok($r->{secs}, '<', 10, 'bad.tt: a config error fails fast');
    done_run($r, $ok);
}

# --- an unknown $TEST_NGINX_ variable bails out naming it ---
{
    my $r = run_fixture('bail');
    ok(defined $r->{bail}
       && $r->{bail} =~ /No environment TEST_NGINX_NO_SUCH_VARIABLE/,
       'bail.tt: bails out naming the variable') or $r->{failed} = 1;
    done_run($r, !$r->{failed});
}

# --- more sections (timeouts, mocks' options, logs, skips...) ---
{
    my $r = run_fixture('extra');
    my $ok = is($r->{exit}, 0, 'extra.tt exits 0');
    $ok &= is(scalar keys %{ $r->{not_ok} }, 0, 'extra.tt: no "not ok"');
    $ok &= is($r->{count}, $r->{plan}, 'extra.tt ran all planned subtests');
    done_run($r, $ok);
}

# --- the tcp_listen mock reads what the real Test::Nginx's reads ---
{
    my $r = run_fixture('mock');
    my $ok = isnt($r->{exit}, 0, 'mock.tt exits non-zero');
    $ok &= ok(has($r->{not_ok}, qr/client socket timed out - .*TEST 1:/),
              'mock.tt: a qr// tcp_query longer than the request: the mock'
              . ' never replies, the client times out');
    $ok &= ok(!has($r->{not_ok}, qr/TEST [23]:/),
              'mock.tt: TEST 2 (tcp_query_auto_timeout) and 3 pass');
    $ok &= ok(has($r->{ok}, qr/TEST 2: .* - tcp_query ok/),
              'mock.tt: with tcp_query_auto_timeout the whole request');
    done_run($r, $ok);
}

# --- setter functions, the generated nginx.conf, load_module lines ---
{
    my $r = run_fixture('funcs');
    my $ok = is($r->{exit}, 0, 'funcs.tt exits 0');
    $ok &= is(scalar keys %{ $r->{not_ok} }, 0, 'funcs.tt: no "not ok"');
    $ok &= is($r->{count}, $r->{plan}, 'funcs.tt ran all planned subtests');
    $ok &= like($r->{stderr}, qr/^funcs\.tt: cleanup handler ran$/m,
                'funcs.tt: the cleanup handler ran');
    done_run($r, $ok);
}

done_testing();
