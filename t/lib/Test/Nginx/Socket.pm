package Test::Nginx::Socket;

# The project's own Test::Nginx::Socket: the same block format and the same
# subtest counts as openresty's Test::Nginx::Socket, for the subset listed
# in the POD below.  Test files must stay runnable by the real module too,
# so this runner adds no syntax of its own.
#
# Test::Base (Debian's libtest-base-perl) does the __DATA__ parsing, the
# filters, plan/blocks and ONLY/SKIP/LAST.  The work is done by:
#   Test::Nginx::Util     settings, setters, $TEST_NGINX_* expansion
#   Test::Nginx::Config   servroot, user_files, nginx.conf
#   Test::Nginx::Process  starting / stopping nginx, valgrind
#   Test::Nginx::Client   building requests, raw-socket client, parsing
#   Test::Nginx::Checks   response and log subtests
#   Test::Nginx::Mock     tcp_listen / udp_listen mock servers
#   Test::Nginx::Runner   run_tests() and the per-block lifecycle
#
# NB: `use Test::Base -Base` source-filters this file (Spiffy adds
# `my $self = shift;` to subs), which is why no sub is defined here.

use Test::Base -Base;

use Test::Nginx::Util qw(:all);
use Test::Nginx::Runner;

our $VERSION = '0.33';

our @EXPORT = qw(
    plan run_tests run_test repeat_each no_shuffle no_long_string
    log_level workers master_on master_off master_process_enabled
    worker_connections no_root_location server_name server_addr
    server_port server_port_for_client server_root html_dir timeout
    config_preamble env_to_nginx add_block_preprocessor add_cleanup_handler
    add_response_body_check bail_out check_accum_error_log is_str use_hup
);

1;
__END__

=head1 NAME

Test::Nginx::Socket - project runner compatible with Test::Nginx::Socket

=head1 SYNOPSIS

    use Test::Nginx::Socket;

    repeat_each(2);
    plan tests => repeat_each() * blocks() * 2;
    run_tests();

    __DATA__

    === TEST 1: hello
    --- config
        location = /t { return 200 "hello\n"; }
    --- request
    GET /t
    --- response_body
    hello

Run with C<prove -I t/lib t/foo.t>.

=head1 SUPPORTED SUBSET

=head2 Functions

C<plan>, C<blocks>, C<no_diff> (from Test::Base), C<run_tests>,
C<repeat_each>, C<no_shuffle>, C<no_long_string>, C<log_level>, C<workers>,
C<master_on>, C<master_off>, C<master_process_enabled>,
C<worker_connections>, C<no_root_location>, C<server_name>, C<server_addr>,
C<server_port>, C<server_port_for_client>, C<server_root>, C<html_dir>,
C<timeout>, C<config_preamble>, C<env_to_nginx>, C<add_block_preprocessor>,
C<add_cleanup_handler>, C<add_response_body_check>, C<bail_out>,
C<check_accum_error_log>, C<is_str>.  C<use_hup> bails out (unsupported).

=head2 Sections

config (reused by later blocks without one), http_config, main_config,
post_main_config, log_level, error_log_file, user_files, init, request
(string, or eval array: one connection per request, an element may be an
array of packets / {value, delay_before}), request_eval, raw_request (string
or array of chunks), raw_request_middle_delay, pipelined_requests,
more_headers (string or per-request array), server_addr_for_client,
timeout, abort, shutdown, wait, error_code, error_code_like,
response_headers, response_headers_like, raw_response_headers_like,
raw_response_headers_unlike, response_body (string or eval qr//),
response_body_eval, response_body_like, response_body_unlike,
response_body_filters, ignore_response, http09, error_log, no_error_log,
grep_error_log, grep_error_log_out, access_log, no_access_log,
shutdown_error_log, no_shutdown_error_log, must_die, skip_nginx, skip_eval,
tcp_listen, tcp_reply, tcp_query, tcp_query_len, tcp_reply_delay,
tcp_no_close, tcp_shutdown, tcp_shutdown_delay, tcp_query_auto_timeout,
udp_listen, udp_reply, udp_query, udp_reply_delay, and ONLY/SKIP/LAST.

=head2 Environment

TEST_NGINX_BINARY, TEST_NGINX_LOAD_MODULES, TEST_NGINX_SERVER_PORT,
TEST_NGINX_PORT, TEST_NGINX_CLIENT_PORT, TEST_NGINX_RAND_PORT_<n> (in
sections), TEST_NGINX_SERVROOT, TEST_NGINX_RANDOMIZE, TEST_NGINX_NO_CLEAN,
TEST_NGINX_USE_VALGRIND, TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR,
TEST_NGINX_MASTER_PROCESS, TEST_NGINX_WORKERS, TEST_NGINX_LOG_LEVEL,
TEST_NGINX_NO_SHUFFLE, TEST_NGINX_SLEEP, TEST_NGINX_TIMEOUT,
TEST_NGINX_FAST_SHUTDOWN, TEST_NGINX_CHECK_ACCUM_ERR_LOG,
TEST_NGINX_EVENT_TYPE, TEST_NGINX_WORKER_USER, TEST_NGINX_VERBOSE.

=head2 Differences from the real module

A config error fails the block at once (C<not ok ... nginx failed to start:
[emerg] ...>) instead of retrying for 30 s and bailing out.  Valgrind
reports become a failing subtest.  A block without C<--- config> restarts
nginx with the previous config instead of reusing the running server.  A
no_error_log pattern matching several lines fails once, not once per line.
Not supported: HUP mode, check-leak/benchmark modes, HTTP/2 and HTTP/3
(curl), stap, todo/todo_nginx, skip_nginx2, skip_openssl,
post_setup_server_root.

=cut
