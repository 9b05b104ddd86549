package Test::Nginx::Checks;

# The subtests of a block (spec §3.8, §3.9).  The number of subtests each
# section produces is the real Test::Nginx's, so `plan tests => ...`
# formulas work unchanged:
#   status: always 1 per request; raw_response_headers_like/_unlike: 1;
#   response_headers(_like): 1 per line (response_headers wins if both);
#   response_body, else response_body_like, else _unlike: 1;
#   grep_error_log: 1; error_log/no_error_log/access_log/no_access_log: 1 per
#   pattern, after every request of a multi-request block and at the end.

use strict;
use warnings;

use Exporter 'import';
use Digest::MD5 ();
use Digest::SHA ();
use Time::HiRes qw(sleep);
use Test::More ();
use Test::Nginx::Util qw(:all);
use Test::Nginx::Client ();

our @EXPORT = qw(check_response check_error_log check_access_log
                 check_shutdown_error_log reset_error_log_pos
                 error_log_data);

our $ErrLogFilePos = 0;

sub reset_error_log_pos { $ErrLogFilePos = 0 }

# Lines added to error.log since the previous read (all of them with
# check_accum_error_log).  Sleeps first so log-phase lines are written.
sub error_log_data {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $ErrLogFile or return [];
    seek $in, $ErrLogFilePos, 0 if !$CheckAccumErrLog && $ErrLogFilePos;
    my @lines = <$in>;
    $ErrLogFilePos = tell $in unless $CheckAccumErrLog;
    close $in;
    return \@lines;
}

sub access_log_data {
    sleep $TestNginxSleep * 3;
    open my $in, '<', $AccLogFile or return [];
    my @lines = <$in>;
    close $in;
    return \@lines;
}

sub subst_ports {
    my $s = shift;
    return $s if !defined $s || ref $s;
    $s =~ s/\$ServerPortForClient\b/$ServerPortForClient/g;
    $s =~ s/\$ServerPort\b/$ServerPort/g;
    return $s;
}


# --- per-request response checks ---

# "Key: value" lines; "!Key" (or a key without a colon) means "absent".
sub parse_header_spec {
    my $spec = shift // '';
    my @out;
    for my $l (split /\n/, $spec) {
        $l =~ s/^\s+|\s+$//g;
        next if $l eq '';
        if ($l =~ s/^!\s*//) {
            push @out, [$l, undef];
        } else {
            push @out, [split /\s*:\s*/, $l, 2];
        }
    }
    return @out;
}

my %BodyFilters = (
    md5_hex => \&Digest::MD5::md5_hex, sha1_hex => \&Digest::SHA::sha1_hex,
    uc => sub { uc shift }, lc => sub { lc shift },
    ucfirst => sub { ucfirst shift }, lcfirst => sub { lcfirst shift },
    length => sub { length shift },
);

sub filter_body {
    my ($ctx, $content, $i) = @_;
    my $f = $ctx->{block}->response_body_filters;
    return $content unless defined $f && defined $content;
    if (!ref $f) {
        $f = [split ' ', $f];
    } elsif (ref $f eq 'ARRAY' && ref $f->[0] eq 'ARRAY') {
        $f = $f->[$i];      # one filter list per request
    }
    for my $one (ref $f eq 'ARRAY' ? @$f : ($f)) {
        my $code = ref $one eq 'CODE' ? $one : $BodyFilters{$one}
            or bail_out("$ctx->{name} - unknown filter, \"$one\", in "
                        . "--- response_body_filters");
        $content = $code->($content);
    }
    return $content;
}

sub check_response {
    my ($ctx, $res, $raw_headers, $i) = @_;
    my ($block, $name, $na, $r) = @$ctx{qw(block name need_array repeat)};
    my $val = sub { indexed_value($name, shift, $i, $na) };
    my $code = $res && defined $res->{code} ? $res->{code} : '';
    $raw_headers //= '';

    if (defined(my $v = $block->error_code_like)) {
        $v = $val->($v);
        Test::More::like($code, qr/$v/sm, "$name - status code ok");
    } elsif (defined($v = $block->error_code)) {
        Test::More::is($code, $val->($v), "$name - status code ok");
    } else {
        Test::More::is($code, 200, "$name - status code ok");
    }

    if (defined(my $v = $block->raw_response_headers_like)) {
        $v = $val->($v);
        Test::More::like($raw_headers, qr/$v/s,
                         "$name - raw resp headers like");
    }
    if (defined(my $v = $block->raw_response_headers_unlike)) {
        $v = $val->($v);
        Test::More::unlike($raw_headers, qr/$v/s,
                           "$name - raw resp headers unlike");
    }

    if (defined(my $spec = $block->response_headers)) {
        for my $h (parse_header_spec($val->($spec))) {
            my ($key, $want) = @$h;
            if (!defined $want) {
                Test::More::unlike($raw_headers, qr/^\s*\Q$key\E\s*:/ms,
                    "$name - header $key not present in the raw headers");
                next;
            }
            my $got = $res ? Test::Nginx::Client::header($res, $key) : undef;
            Test::More::is($got // '', subst_ports($want),
                           "$name - header $key ok");
        }
    } elsif (defined($spec = $block->response_headers_like)) {
        for my $h (parse_header_spec($val->($spec))) {
            my ($key, $want) = @$h;
            $want //= '';
            my $got = $res ? Test::Nginx::Client::header($res, $key) : undef;
            Test::More::like($got // '', qr/^$want$/,
                             "$name - header $key like ok");
        }
    }

    my $content = filter_body($ctx, $res ? $res->{content} : undef, $i);
    my $tag = "(repeated req $r, req $i)";

    if (defined $block->response_body || defined $block->response_body_eval) {
        my $want;
        if (defined $block->response_body_eval) {
            Test::More::diag("$name - response_body_eval is DEPRECATED. "
                             . "Use response_body eval instead.");
            $want = eval $val->($block->response_body_eval);
            warn $@ if $@;
        } else {
            $want = $val->($block->response_body);
        }
        if (ref $want) {
            Test::More::like($content, $want,
                             "$name - response_body - like $tag");
        } else {
            $want = subst_ports(expand_env($want, $ctx->{ports}, $name));
            is_str($content, $want,
                   "$name - response_body - response is expected $tag");
        }

    } elsif (defined $block->response_body_like
             || defined $block->response_body_unlike)
    {
        my $like = defined $block->response_body_like;
        my $pat = subst_ports($val->($like ? $block->response_body_like
                                           : $block->response_body_unlike));
        my $summary = $content // '';
        $summary =~ s/^\s+|\s+$//g;
        $summary =~ s/\s+/ /g;
        $summary = substr($summary, 0, 200) . '...' if length $summary > 200;
        my $type = $like ? 'like' : 'unlike';
        my $cmp = $like ? \&Test::More::like : \&Test::More::unlike;
        $cmp->($content, qr/$pat/s,
               "$name - response_body_$type - response is expected "
               . "($summary)");
    }

    $_->($block, $content, $i, $r, 0) for @ResponseBodyChecks;
}


# --- log checks ---

sub pattern_list {
    my $p = shift;
    return [] unless defined $p;
    return [$p] if ref $p eq 'Regexp';
    return [grep { defined } @$p] if ref $p eq 'ARRAY';
    chomp $p;
    return [grep { $_ ne '' } split /\n+/, $p];
}

sub line_matches {
    my ($line, $pat) = @_;
    return ref $pat ? $line =~ $pat : index($line, $pat) >= 0;
}

# One subtest per pattern: some line must match.
sub check_present {
    my ($name, $lines, $pats, $file, $tag) = @_;
    for my $pat (@{ pattern_list($pats) }) {
        my $p = fmt_str("$pat");
        if (grep { line_matches($_, $pat) } @$lines) {
            Test::More::pass("$name - pattern \"$p\" matches a line in "
                             . "$file$tag");
        } else {
            Test::More::fail("$name - pattern \"$p\" should match a line in "
                             . "$file$tag");
        }
    }
}

# One subtest per pattern: no line may match; a failure shows the line and
# up to 10 following ones.
sub check_absent {
    my ($name, $lines, $pats, $file, $tag) = @_;
    for my $pat (@{ pattern_list($pats) }) {
        my $p = fmt_str("$pat");
        my ($idx) = grep { line_matches($lines->[$_], $pat) } 0 .. $#$lines;
        if (!defined $idx) {
            Test::More::pass("$name - pattern \"$p\" does not match a line "
                             . "in $file$tag");
            next;
        }
        Test::More::fail("$name - pattern \"$p\" should not match any line "
                         . "in $file but matches line \""
                         . fmt_str($lines->[$idx]) . "\"$tag");
        my $end = $idx + 10 < $#$lines ? $idx + 10 : $#$lines;
        Test::More::diag(join '', @$lines[$idx + 1 .. $end]) if $end > $idx;
    }
}

sub mentions {
    my ($pats, $str) = @_;
    for my $p (@{ pattern_list($pats) }) {
        return 1 if index("$p", $str) >= 0;
    }
    return 0;
}

sub check_assertions {
    my ($name, $lines) = @_;
    for my $l (@$lines) {
        Test::More::fail("$name - " . fmt_str($l))
            if $l =~ /\bAssertion .*?failed\b/;
    }
}

sub check_error_log {
    my ($ctx, $quiet_emerg) = @_;
    my ($block, $name, $r) = @$ctx{qw(block name repeat)};
    my $lines = error_log_data();
    my $tag = " (req $r)";

    my $grep = $block->grep_error_log;
    my $grep_out = $block->grep_error_log_out;
    if (defined $grep || defined $grep_out) {
        bail_out("$name - --- grep_error_log and --- grep_error_log_out "
                 . "go together") unless defined $grep && defined $grep_out;
        $grep = $grep->[$r] if ref $grep eq 'ARRAY';
        $grep_out = $grep_out->[$r] if ref $grep_out eq 'ARRAY';
        my $got = '';
        for my $l (@$lines) {
            if (ref $grep ? $l =~ $grep : $l =~ /\Q$grep\E/) {
                my $m = $&;
                $got .= "$m\n" if $m !~ /\n/;
            }
        }
        is_str($got, expand_env($grep_out, $ctx->{ports}, $name),
               "$name - grep_error_log_out$tag");
    }

    my $want = $block->error_log;
    my $unwanted = $block->no_error_log;
    check_present($name, $lines, $want, 'error.log', $tag) if defined $want;
    check_absent($name, $lines, $unwanted, 'error.log', $tag)
        if defined $unwanted;

    # Serious log lines are only warnings, unless a pattern is about them.
    for my $lvl (qw(alert crit emerg)) {
        next if mentions($want, "[$lvl") || mentions($unwanted, "[$lvl");
        next if $quiet_emerg && $lvl eq 'emerg';
        for my $l (grep { /\[$lvl\]/ } @$lines) {
            warn "WARNING: $name - " . fmt_str($l) . "\n";
        }
    }
    check_assertions($name, $lines);
}

sub check_access_log {
    my $ctx = shift;
    my ($block, $name, $r) = @$ctx{qw(block name repeat)};
    my $want = $block->access_log;
    my $unwanted = $block->no_access_log;
    return unless defined $want || defined $unwanted;
    my $lines = access_log_data();
    check_present($name, $lines, $want, 'access.log', " (req $r)")
        if defined $want;
    check_absent($name, $lines, $unwanted, 'access.log', " (req $r)")
        if defined $unwanted;
}

# Lines written while nginx stopped (read before the logs are wiped).
sub check_shutdown_error_log {
    my $block = shift;
    my $name = $block->name;
    my $want = $block->shutdown_error_log;
    my $unwanted = $block->no_shutdown_error_log;
    return unless defined $want || defined $unwanted;
    my $lines = error_log_data();
    check_present($name, $lines, $want, 'error.log', '') if defined $want;
    check_absent($name, $lines, $unwanted, 'error.log', '')
        if defined $unwanted;
    check_assertions($name, $lines);
}

1;
