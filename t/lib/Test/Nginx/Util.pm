package Test::Nginx::Util;

# Settings, setter functions and small helpers shared by the runner modules.
# Every global the other modules read lives here, named as in the real
# Test::Nginx::Util so test files that poke at them keep working.

use strict;
use warnings;

use Exporter 'import';
use Carp qw(croak);
use Cwd qw(cwd);
use File::Spec ();
use IO::Socket::INET ();
use Socket qw(SOCK_STREAM SOCK_DGRAM);
use Test::More ();
use Test::LongString ();
use Time::HiRes ();

our @SETTERS = qw(
    repeat_each no_shuffle no_long_string log_level workers master_on
    master_off master_process_enabled worker_connections no_root_location
    server_name server_addr server_port server_port_for_client server_root
    html_dir timeout config_preamble env_to_nginx add_block_preprocessor
    add_cleanup_handler bail_out check_accum_error_log sleep_time is_str
    add_response_body_check
);

our @HELPERS = qw(
    parse_time fmt_str expand_env gen_rand_port cleanup nginx_version
    without_module indexed_value trim_str
);

our @VARS = qw(
    $NginxBinary $LoadModules $ServerPort $ServerPortForClient $ServerAddr
    $ServerName $ServRoot $LogDir $ErrLogFile $AccLogFile $HtmlDir $ConfDir
    $ConfFile $PidFile $RepeatEach $NoShuffle $NoLongString $LogLevel
    $Workers $MasterProcessEnabled $DaemonEnabled $WorkerConnections
    $NoRootLocation $Timeout $TestNginxSleep $ConfigPreamble @EnvToNginx
    @BlockPreprocessors @CleanupHandlers @InternalCleanup
    @ResponseBodyChecks $UseValgrind $NoClean $CheckAccumErrLog $Randomize
    $NginxVersion $NginxRawVersion $Verbose $MainPid $WorkerUser
);

our @EXPORT = (@SETTERS, @HELPERS, @VARS);
our %EXPORT_TAGS = (setters => \@SETTERS, all => \@EXPORT);


# --- environment (see §3.4 of the spec; defaults match the real runner) ---

sub find_in_path {
    my $prog = shift;
    return $prog if $prog =~ m{/};
    for my $dir (split /:/, $ENV{PATH} || '') {
        my $p = File::Spec->catfile($dir, $prog);
        return $p if -f $p && -x _;
    }
    return undef;
}

our $MainPid = $$;
our $Verbose = $ENV{TEST_NGINX_VERBOSE};
our $NginxBinary = $ENV{TEST_NGINX_BINARY} || find_in_path('nginx')
                   || '/usr/sbin/nginx';
our $LoadModules = $ENV{TEST_NGINX_LOAD_MODULES};
our $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND};
our $NoClean = $ENV{TEST_NGINX_NO_CLEAN};
our $Randomize = $ENV{TEST_NGINX_RANDOMIZE};
our $CheckAccumErrLog = $ENV{TEST_NGINX_CHECK_ACCUM_ERR_LOG};
our $NoShuffle = $ENV{TEST_NGINX_NO_SHUFFLE} || 0;
our $LogLevel = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $MasterProcessEnabled = $ENV{TEST_NGINX_MASTER_PROCESS} || 'off';
our $Workers = $ENV{TEST_NGINX_WORKERS} || 1;
our $WorkerConnections = 64;
our $DaemonEnabled = $UseValgrind ? 'off' : 'on';
our $Timeout = $ENV{TEST_NGINX_TIMEOUT} || 3;
# read once, as the real runner does; a file may set it per block
our $WorkerUser = $ENV{TEST_NGINX_WORKER_USER};
die "Bad value in the env TEST_NGINX_WORKER_USER: $WorkerUser\n"
    if defined $WorkerUser
       && $WorkerUser !~ /^\w[-\w]+(?:\s+\w[-\w]+)?$/;
our $TestNginxSleep = $ENV{TEST_NGINX_SLEEP} || 0.015;
our $ServerAddr = '127.0.0.1';
our $ServerName = 'localhost';
our $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT}
                  || 1984;
our $ServerPortForClient = $ENV{TEST_NGINX_CLIENT_PORT} || $ServerPort;
our $RepeatEach = 1;
our $NoLongString;
our $NoRootLocation = 0;
our $ConfigPreamble = '';
our (@EnvToNginx, @BlockPreprocessors, @CleanupHandlers, @InternalCleanup,
     @ResponseBodyChecks);
our ($NginxVersion, $NginxRawVersion, %WithoutModules);

srand($$ ^ time);

if ($Randomize) {
    # A random port plus a servroot of its own, so `prove -j N` works.
    $ServerPort = gen_rand_port({})
        or die "Cannot find a free port for TEST_NGINX_RANDOMIZE\n";
    $ServerPortForClient = $ServerPort;
}

our $ServRoot = $Randomize
    ? File::Spec->rel2abs("t/servroot_$ServerPort")
    : File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT} || 't/servroot');
$ServRoot =~ s{/+$}{};

our ($LogDir, $ErrLogFile, $AccLogFile, $HtmlDir, $ConfDir, $ConfFile,
     $PidFile);

sub set_servroot_paths {
    $ENV{TEST_NGINX_SERVER_ROOT} = $ServRoot;
    $LogDir = "$ServRoot/logs";
    $ErrLogFile = "$LogDir/error.log";
    $AccLogFile = "$LogDir/access.log";
    $HtmlDir = "$ServRoot/html";
    $ConfDir = "$ServRoot/conf";
    $ConfFile = "$ConfDir/nginx.conf";
    $PidFile = "$LogDir/nginx.pid";
    $ENV{TEST_NGINX_HTML_DIR} ||= $HtmlDir;
}

set_servroot_paths();


# --- setters and getters called by test files before run_tests() ---

sub repeat_each {
    $RepeatEach = shift if @_;
    return $RepeatEach;
}

sub no_shuffle { $NoShuffle = 1 }
sub no_long_string { $NoLongString = 1 }
sub check_accum_error_log { $CheckAccumErrLog = 1 }
sub no_root_location { $NoRootLocation = 1 }
sub master_on { $MasterProcessEnabled = 'on' }
sub master_off { $MasterProcessEnabled = 'off' }
sub config_preamble { $ConfigPreamble = shift }
sub sleep_time { $TestNginxSleep }
sub html_dir { $HtmlDir }
sub server_root { $ServRoot }

sub master_process_enabled {
    return $MasterProcessEnabled unless @_;
    $MasterProcessEnabled = $_[0] ? 'on' : 'off';
}

# getter without arguments, setter with one
sub _accessor {
    my $ref = shift;
    $$ref = shift if @_;
    return $$ref;
}

sub log_level { _accessor(\$LogLevel, @_) }
sub workers { _accessor(\$Workers, @_) }
sub worker_connections { _accessor(\$WorkerConnections, @_) }
sub server_name { _accessor(\$ServerName, @_) }
sub server_addr { _accessor(\$ServerAddr, @_) }
sub server_port_for_client { _accessor(\$ServerPortForClient, @_) }
sub timeout { _accessor(\$Timeout, @_) }

sub server_port {
    return $ServerPort unless @_;
    $ServerPort = shift;
    $ServerPortForClient = $ServerPort unless $ENV{TEST_NGINX_CLIENT_PORT};
    return $ServerPort;
}

sub env_to_nginx {
    croak "env_to_nginx: no arguments specified" unless @_;
    for my $v (@_) {
        croak "env_to_nginx: bad argument value: $v"
            if $v !~ /^[A-Za-z_]/ || $v =~ /\n/;
        push @EnvToNginx, $v;
    }
}

sub add_block_preprocessor { unshift @BlockPreprocessors, shift }
sub add_cleanup_handler { unshift @CleanupHandlers, shift }
sub add_response_body_check { push @ResponseBodyChecks, shift }

# Runs the user's cleanup handlers, then ours (mocks, valgrind child).
sub cleanup {
    return if $$ != $MainPid;
    $_->() for @CleanupHandlers, @InternalCleanup;
}

sub bail_out {
    cleanup();
    Test::More::BAIL_OUT(join '', @_);
}


# --- helpers ---

sub parse_time {
    my $tm = shift;
    return undef unless defined $tm;
    $tm =~ s/^\s+|\s+$//g;
    return $1 / 1000 if $tm =~ /^([\d.]+)ms$/;
    return $1 if $tm =~ /^([\d.]+)s?$/;
    return $tm;
}

sub trim_str {
    my $s = shift;
    return undef unless defined $s;
    $s =~ s/^\s+|\s+$//gs;
    return $s;
}

sub fmt_str {
    my $s = shift;
    chomp $s;
    $s =~ s/"/\\"/g;
    $s =~ s/\r/\\r/g;
    $s =~ s/\n/\\n/g;
    return $s;
}

# String compare honouring no_long_string(); a qr// expected value is a
# regex match.
sub is_str {
    my ($got, $expected, $desc) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    if (ref $expected && ref $expected eq 'Regexp') {
        return Test::More::like($got, $expected, $desc);
    }
    if ($NoLongString) {
        return Test::Base::is($got, $expected, $desc);
    }
    return Test::LongString::is_string($got, $expected, $desc);
}

# Expected values of multi-request blocks are arrays, one per request.
sub indexed_value {
    my ($name, $value, $idx, $need_array) = @_;
    if (ref $value && ref $value eq 'ARRAY') {
        return $value->[$idx] if $need_array || $idx == 0;
    }
    if ($need_array) {
        bail_out("$name - You asked for many requests, the expected "
                 . "results should be arrays as well.");
    }
    return $value;
}

# A port nobody listens on (TCP and UDP, 127.0.0.1), outside Linux's
# ephemeral range so outgoing connections do not grab it meanwhile.
sub gen_rand_port {
    my $used = shift || {};
    for (1 .. 1000) {
        my $port = 10000 + int rand 22000;
        next if $used->{$port};
        next if defined $ServerPort && $port == $ServerPort;
        my $ok = 1;
        for my $type (SOCK_STREAM, SOCK_DGRAM) {
            my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                          LocalPort => $port, Type => $type,
                                          Proto => $type == SOCK_STREAM
                                                   ? 'tcp' : 'udp');
            if (!$s) {
                $ok = 0;
                last;
            }
            close $s;
        }
        return $port if $ok;
    }
    return undef;
}

# Replaces $TEST_NGINX_* in a section value.  $TEST_NGINX_RAND_PORT_N gets
# a free port that stays the same for the whole block ($ports).
sub expand_env {
    my ($text, $ports, $name) = @_;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        my $var = $1;
        if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
            if (!defined $ports->{$var}) {
                my %used = map { $_ => 1 } values %$ports;
                $ports->{$var} = gen_rand_port(\%used)
                    // bail_out("$name - cannot find a free port for $var");
            }
            $ports->{$var};
        } elsif (!defined $ENV{$var}) {
            bail_out("$name - No environment $var defined.");
        } else {
            $ENV{$var};
        }
    }ge;
    return $text;
}

# Version as a number comparable with skip_nginx specs: 1.22.1 -> 1.022001
sub canon_version {
    my ($a, $b, $c) = @_;
    return sprintf "%d.%03d%03d", $a, $b // 0, $c // 0;
}

sub nginx_version {
    return $NginxVersion if defined $NginxVersion;
    (my $q = $NginxBinary) =~ s/'/'\\''/g;
    my $out = `'$q' -V 2>&1`;
    if ($? != 0 || $out !~ m{nginx version: \S+?/(\d+)\.(\d+)\.(\d+)}) {
        bail_out("Cannot get the version of nginx using \"$NginxBinary -V\""
                 . ($out ? ": $out" : ''));
    }
    $NginxRawVersion = "$1.$2.$3";
    $NginxVersion = canon_version($1, $2, $3);
    $WithoutModules{$1} = 1 while $out =~ /--without-(\w+)_module\b/g;
    return $NginxVersion;
}

sub without_module {
    my $m = shift;
    nginx_version();
    return $WithoutModules{$m};
}

1;
