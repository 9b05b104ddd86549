package Test::Nginx::Config;

# Builds the per-block server root: wipes and recreates servroot, writes
# --- user_files and the generated conf/nginx.conf (spec §3.5, same order
# and same directives as the real Test::Nginx).

use strict;
use warnings;

use Exporter 'import';
use File::Path qw(make_path remove_tree);
use File::Basename qw(dirname);
use Time::Local qw(timegm);
use Test::Nginx::Util qw(:all);
use TrtcTest::Util ();

our @EXPORT = qw(setup_server_root write_user_files write_config_file);

sub write_or_bail {
    eval { TrtcTest::Util::write_file(@_); 1 } or bail_out("Cannot write: $@");
}

# Removes only the directories the runner creates, then rmdir()s servroot:
# a mis-set TEST_NGINX_SERVROOT is never rm -rf'ed.
sub setup_server_root {
    if (-d $ServRoot) {
        opendir my $dh, $ServRoot or bail_out("Cannot open $ServRoot: $!");
        my @dirs = grep { /^(?:conf|html|logs|cache|\w+_cache|\w+_temp)$/ }
                   readdir $dh;
        closedir $dh;
        remove_tree(map { "$ServRoot/$_" } @dirs);
        rmdir $ServRoot
            or bail_out("Cannot remove $ServRoot (is it empty?): $!");
    }
    make_path($ServRoot, $LogDir, $HtmlDir, $ConfDir);
    write_or_bail("$HtmlDir/index.html", "<html><head><title>It works!</title>"
               . "</head><body>It works!</body></html>");
}

# --- user_files: ">>> name [mtime]" chunks, or an eval array of
# [name, body, mtime].  Relative names go under html/.
sub write_user_files {
    my ($block, $ports) = @_;
    my $files = $block->user_files;
    return unless defined $files;
    my $name = $block->name;
    my @list;

    if (ref $files eq 'ARRAY') {
        @list = map { [@$_] } @$files;
    } else {
        my @parts = split /^>>>\s+(\S+)(?:[ \t]+(\S+))?[ \t]*\n/m, $files;
        shift @parts;  # text before the first >>>
        while (@parts) {
            my ($fname, $date, $body) = splice @parts, 0, 3;
            push @list, [$fname, $body // '', $date];
        }
    }

    for my $f (@list) {
        my ($fname, $body, $date) = @$f;
        my $path = $fname =~ m{^/} ? $fname : "$HtmlDir/$fname";
        make_path(dirname($path));
        write_or_bail($path, expand_env($body, $ports, $name));
        if (defined $date) {
            my $t = $date;
            if ($date =~ /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d\d))?$/) {
                # touch -t style YYYYMMDDhhmm[.ss], in GMT like the real one
                $t = timegm($6 // 0, $5, $4, $3, $2 - 1, $1);
            }
            bail_out("$name - bad user_files date: $date")
                unless defined $t && $t =~ /^\d+$/;
            utime $t, $t, $path;
        }
    }
}

# Single-quotes an "env X=some value" argument when it needs it.
sub quote_env {
    my $v = shift;
    return $v unless $v =~ /[\s;'"{}\$\\]/;
    $v =~ s/(['\\])/\\$1/g;
    return "'$v'";
}

sub write_config_file {
    my ($block, $config, $ports) = @_;
    my $name = $block->name;
    my $x = sub { expand_env(scalar(shift) // '', $ports, $name) };

    my $http_config = $x->($block->http_config);
    my $main_config = $x->($block->main_config);
    my $post_main_config = $x->($block->post_main_config);
    $config = $x->($config);
    my $level = $block->log_level // $LogLevel;
    my $err_log = defined $block->error_log_file
                  ? $x->($block->error_log_file) : $ErrLogFile;

    my $c = <<"_EOC_";
worker_processes  $Workers;
daemon $DaemonEnabled;
master_process $MasterProcessEnabled;
error_log $err_log $level;
pid       $PidFile;
env MOCKEAGAIN_VERBOSE;
env MOCKEAGAIN;
env MOCKEAGAIN_WRITE_TIMEOUT_PATTERN;
env LD_PRELOAD;
env LD_LIBRARY_PATH;
env DYLD_INSERT_LIBRARIES;
env DYLD_FORCE_FLAT_NAMESPACE;
_EOC_

    $c .= 'env ' . quote_env($_) . ";\n" for @EnvToNginx;

    if (defined $LoadModules && $LoadModules =~ /\S/) {
        $c .= join(' ', map { "load_module $_;" } split ' ', $LoadModules)
              . "\n";
    }

    $c .= "$main_config\n" if $main_config ne '';

    $c .= "http {\n    access_log $AccLogFile;\n";

    # Debian compiles in /var/lib/nginx/... temp paths: keep them in
    # servroot unless the block sets them or the module is compiled out.
    for my $m (qw(client_body proxy fastcgi scgi uwsgi)) {
        next if $http_config =~ /\b${m}_temp_path\b/;
        next if $m ne 'client_body' && without_module("http_$m");
        $c .= "    ${m}_temp_path $ServRoot/${m}_temp;\n";
    }

    $c .= <<"_EOC_";
    default_type text/plain;
    keepalive_timeout  68000ms;
$http_config
    server {
        listen          $ServerPort;
        server_name     '$ServerName';

        client_max_body_size 30M;
        #access_log off;

$ConfigPreamble
        # --- begin
$config
        # --- end
_EOC_

    if (!$NoRootLocation) {
        $c .= <<"_EOC_";

        location / {
            root $HtmlDir;
            index index.html index.htm;
        }
_EOC_
    }

    $c .= "    }\n}\n\n";
    $c .= "$post_main_config\n" if $post_main_config ne '';
    $c .= <<"_EOC_";
events {
    accept_mutex off;
    worker_connections  $WorkerConnections;
_EOC_
    $c .= "    use $ENV{TEST_NGINX_EVENT_TYPE};\n"
        if $ENV{TEST_NGINX_EVENT_TYPE};
    $c .= "}\n\nenv ASAN_OPTIONS;\nenv MOCKNOEAGAIN_VERBOSE;\n"
          . "env MOCKNOEAGAIN;\n";

    # workers would run as nobody otherwise and could not read servroot
    if (defined $WorkerUser) {
        $c .= "user $WorkerUser;\n";
    } elsif ($> == 0) {
        $c .= "user root;\n";
    }

    write_or_bail($ConfFile, $c);
}

1;
