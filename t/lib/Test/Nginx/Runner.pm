package Test::Nginx::Runner;

# run_tests() and the per-block lifecycle (spec §3.6):
#   stop the previous nginx -> check its shutdown log (and valgrind report)
#   -> fresh servroot, user_files, nginx.conf -> start nginx (fail fast on
#   [emerg]) -> --- init -> repeat_each times: mocks, requests, checks.

use strict;
use warnings;

use Exporter 'import';
use List::Util qw(shuffle);
use Scalar::Util qw(looks_like_number);
use Time::HiRes qw(sleep);
use Test::More ();
use Test::Nginx::Util qw(:all);
use Test::Nginx::Config;
use Test::Nginx::Process;
use Test::Nginx::Client;
use Test::Nginx::Checks;
use Test::Nginx::Mock;
use TrtcTest::Util ();

our @EXPORT = qw(run_tests run_test use_hup);

# $PrevBlock: the block whose nginx (and logs) are still there; a skipped
# block does not replace it, so its shutdown log is still checked.
our ($PrevBlock, $PrevConfig, $RunTestsCalled);

sub use_hup {
    bail_out("use_hup() / TEST_NGINX_USE_HUP are not supported by this "
             . "runner (t/lib/Test/Nginx)");
}

sub run_tests {
    use_hup() if $ENV{TEST_NGINX_USE_HUP};
    nginx_version();
    # so configs can always say $TEST_NGINX_SERVER_PORT
    $ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
    $RunTestsCalled = 1;

    my @blocks = Test::Base::blocks();
    @blocks = shuffle @blocks unless $NoShuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        $block->set_value(name => "$0 " . $block->name);
        run_test($block);
    }
}

# "N: < 1.19.0[: reason]" and "N: perl code"; returns (count, reason) when
# the block's N subtests (per repeat) are to be skipped.
sub skip_spec {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $s = $block->skip_nginx)) {
        $s =~ m{^\s*(\d+)\s*:\s*([<>]=?)\s*(\d+)\.(\d+)\.(\d+)
                (?:\s*:\s*(.*?))?\s*$}x
            or bail_out("$name - Invalid --- skip_nginx spec: $s");
        my ($n, $op, $reason) = ($1, $2, $6);
        my $ver = Test::Nginx::Util::canon_version($3, $4, $5);
        return ($n, $reason || "nginx version $op $3.$4.$5")
            if eval "$NginxVersion $op $ver";
    }
    if (defined(my $s = $block->skip_eval)) {
        $s =~ /^\s*(\d+)\s*:\s*(.*)/s
            or bail_out("$name - Invalid --- skip_eval spec: $s");
        my ($n, $code) = ($1, $2);
        my $skip = eval $code;
        bail_out("$name - skip_eval - failed to eval \"$code\": $@") if $@;
        return ($n, 'skip_eval') if $skip;
    }
    return;
}

# Stops the previous block's nginx, then runs the checks that need it gone.
sub stop_previous {
    my $name = shift;
    my $report = stop_nginx($name);
    my $prev = $PrevBlock ? $PrevBlock->name : $name;
    if (defined $report) {
        Test::More::fail("$prev - valgrind reported errors");
        Test::More::diag($report);
    }
    check_shutdown_error_log($PrevBlock) if $PrevBlock && !$NoClean;
}

sub report_start_failure {
    my ($name, $st) = @_;
    my $why = $st->{emerg} // "exit status $st->{status}";
    Test::More::fail("$name - nginx failed to start: $why");
    my $stderr = TrtcTest::Util::slurp(
                     $Test::Nginx::Process::StderrFile // '');
    Test::More::diag("command: $st->{cmd}\n"
                     . ($stderr ne '' ? "stderr:\n$stderr" : ''));
}

sub run_test {
    my $block = shift;
    my $name = $block->name;
    my $ports = {};
    my $ctx = { block => $block, name => $name, ports => $ports,
                need_array => 0, repeat => 0 };

    # a block without --- config reuses the previous block's
    my $config = $block->config;
    $PrevConfig = $config if defined $config;
    $config = $PrevConfig // '';

    if (my ($n, $reason) = skip_spec($block)) {
        for (1 .. $RepeatEach) {
            SKIP: { Test::More::skip("$name - $reason", $n) }
        }
        return;
    }

    stop_previous($name);
    $PrevBlock = $block;
    setup_server_root();
    write_user_files($block, $ports);
    write_config_file($block, $config, $ports);
    reset_error_log_pos();

    if (defined(my $must_die = $block->must_die)) {
        run_must_die($ctx, $must_die);
        return;
    }

    my $st = start_nginx($name);
    if (!$st->{ok}) {
        report_start_failure($name, $st);
        return;
    }
    sleep $TestNginxSleep;

    if (defined(my $init = $block->init)) {
        eval "package main; $init";
        bail_out("$name - init failed: $@") if $@;
    }

    for my $r (0 .. $RepeatEach - 1) {
        $ctx->{repeat} = $r;
        write_user_files($block, $ports) if $r > 0;
        start_mocks($ctx);
        run_requests($ctx);
        finish_mocks($ctx);
    }
}

# --- must_die [exit code]: nginx must fail to start; the log checks then
# apply to what it wrote while failing.
sub run_must_die {
    my ($ctx, $must_die) = @_;
    my $name = $ctx->{name};
    $must_die =~ s/^\s+|\s+$//g;
    for my $r (0 .. $RepeatEach - 1) {
        $ctx->{repeat} = $r;
        my $st = start_nginx($name, 1);
        if ($st->{core}) {
            Test::More::fail("$name - nginx core dumped");
        } elsif (looks_like_number($must_die)) {
            Test::More::is($st->{exit_code}, $must_die,
                           "$name - die with the expected exit code");
        } else {
            Test::More::isnt($st->{status}, 0, "$name - die as expected");
        }
        check_error_log($ctx, 1);
        if ($st->{ok}) {
            warn "WARNING: $name - nginx must die but it does not; "
                 . "killing it (req $r)\n";
            stop_nginx($name);
        }
    }
}

sub run_requests {
    my $ctx = shift;
    my ($block, $name) = @$ctx{qw(block name)};
    my ($conns, $per_conn) = get_requests($block, $ctx->{ports});
    bail_out("$name - request empty (no --- request, raw_request or "
             . "pipelined_requests)") unless $conns && @$conns;

    my $timeout = parse_time($block->timeout) // $Timeout;
    my $wait = parse_time($block->wait);
    my $ignore = defined $block->ignore_response;
    $ctx->{need_array} = @$conns > 1 || $per_conn > 1;
    my $idx = 0;

    for my $ci (0 .. $#$conns) {
        my $pk = $conns->[$ci];
        my $head = join('', map { $_->{value} // '' } @$pk) =~ /^\s*HEAD\s/;
        my $raw = send_request($block, $pk, $timeout);

        for my $k (1 .. $per_conn) {
            my ($res, $raw_headers, $left);
            if (!$ignore) {
                if (defined $block->http09) {
                    ($res, $raw_headers) = ({ code => 200, headers => [],
                                              content => $raw // '' }, '');
                } else {
                    ($res, $raw_headers, $left) =
                        parse_response($name, $raw, $head);
                }
                check_response($ctx, $res, $raw_headers, $idx);
            }
            if ($k < $per_conn) {
                $raw = $left;   # the next pipelined response
            } elsif (defined $left && $left ne '') {
                warn "WARNING: $name - unexpected extra bytes after the "
                     . "response: \"" . fmt_str($left) . "\"\n";
            }
            $idx++;
            next if $ci == $#$conns && $k == $per_conn;
            sleep $wait if $wait;
            check_error_log($ctx);
            check_access_log($ctx) unless $ignore;
        }
    }

    sleep $wait if $wait;
    check_error_log($ctx);
    check_access_log($ctx) unless $ignore;
}

END {
    if ($RunTestsCalled && $$ == $MainPid) {
        local $?;   # keep Test::Builder's exit status
        if (!$NoClean || $UseValgrind) {
            stop_previous('END');
        }
        cleanup();
    }
}

1;
