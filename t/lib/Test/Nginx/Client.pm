package Test::Nginx::Client;

# The raw-socket HTTP client (spec §3.7, §3.8): turns --- request /
# request_eval / raw_request / pipelined_requests (+ more_headers) into
# byte strings, sends each request on its own connection and parses the
# answer (chunked decoding, 101/304 without body, Content-Length excess
# kept for the next pipelined response).

use strict;
use warnings;

use Exporter 'import';
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use IO::Select ();
use IO::Socket::INET ();
use Time::HiRes qw(sleep);
use Test::Nginx::Util qw(:all);
use Test::Nginx::Process ();

our @EXPORT = qw(get_requests send_request parse_response);


# --- building requests ---

sub parse_more_headers {
    my $in = shift // '';
    my ($out, $chunked) = ('', 0);
    for my $h (split /\n+/, $in) {
        next if $h =~ /^\s*#/ || $h !~ /\S/;
        my ($k, $v) = split /:\s*/, $h, 2;
        $v //= '';
        $v =~ s/\r$//;
        $chunked = 1 if lc $k eq 'transfer-encoding' && lc $v eq 'chunked';
        $out .= "$k: $v\r\n";
    }
    return ($out, $chunked);
}

# Applies non-overlapping edits [start, len, replacement] (sorted) to $s and
# moves the packet boundaries @$bounds along, so a request given as several
# packets is still split at the same places of its text.
sub apply_edits {
    my ($s, $bounds, @edits) = @_;
    my ($out, $pos) = ('', 0);
    for my $e (@edits) {
        $out .= substr($s, $pos, $e->[0] - $pos);
        push @$e, length $out;              # [3] = start in the output
        $out .= $e->[2];
        $pos = $e->[0] + $e->[1];
    }
    $out .= substr($s, $pos);

    my @new;
    for my $bd (@$bounds) {
        my ($nb, $delta) = (undef, 0);
        for my $e (@edits) {
            my ($start, $len, $rep, $nstart) = @$e;
            if ($bd >= $start + $len) {
                $delta += length($rep) - $len;
            } elsif ($bd > $start) {
                my $off = $bd - $start;
                $nb = $nstart + ($off < length $rep ? $off : length $rep);
                last;
            } else {
                last;
            }
        }
        push @new, $nb // $bd + $delta;
    }
    return ($out, \@new);
}

# "METHOD [URI [HTTP/x.y]]\nbody" -> full request, as packets.
sub build_request {
    my ($name, $hdrs, $chunked, $conn, $packets) = @_;
    my $s = join '', @$packets;
    my (@bounds, $acc);
    for my $p (@$packets[0 .. $#$packets - 1]) {
        push @bounds, $acc += length $p;
    }

    $s =~ /\A(\s*)/;
    my $lead = length $1;
    my $nl = index($s, "\n", $lead);
    my $line_end = $nl < 0 ? length $s : $nl + 1;
    my $line = substr($s, $lead, $line_end - $lead);
    # (an implicit split limit would keep a trailing empty field)
    my @f = split ' ', $line;
    my ($meth, $uri, $ver) = @f;
    bail_out("$name - Request line should be non-empty") unless defined $meth;
    $uri //= '/';
    $ver //= 'HTTP/1.1';

    my $body = substr($s, $line_end);
    my @edits;
    my $len_hdr = '';
    if (!$chunked && $body ne '' && $hdrs !~ /(?:^|\n)Content-Length:/i) {
        (my $trimmed = $body) =~ s/^\s+|\s+$//gs;
        $len_hdr = "Content-Length: " . length($trimmed) . "\r\n";
        push @edits, [$line_end, length $body, $trimmed];
    }

    my $head = '';
    $head .= "Host: $ServerName\r\n" if $hdrs !~ /(?:^|\n)Host:/i;
    $head .= "Connection: $conn\r\n" if $hdrs !~ /(?:^|\n)Connection/i;
    unshift @edits, [0, $line_end, "$meth $uri $ver\r\n$head$hdrs$len_hdr\r\n"];

    my ($out, $nb) = apply_edits($s, \@bounds, @edits);
    my @res;
    my $prev = 0;
    for my $b (@$nb, length $out) {
        push @res, substr($out, $prev, $b - $prev);
        $prev = $b;
    }
    return \@res;
}

sub headers_for {
    my ($name, $more, $i) = @_;
    if (ref $more eq 'ARRAY') {
        my $h = $more->[$i];
        bail_out("$name - --- more_headers lacks data for request $i")
            unless defined $h;
        return parse_more_headers($h);
    }
    return parse_more_headers($more);
}

# Returns (list of connections, number of responses per connection); each
# connection is a list of packets {value => bytes, delay_before => secs}.
sub get_requests {
    my ($block, $ports) = @_;
    my $name = $block->name;

    if (defined(my $raw = $block->raw_request)) {
        my @chunks = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        return ([[map { +{ value => $_ } } @chunks]], 1);
    }

    my $more = $block->more_headers // '';

    if (defined(my $reqs = $block->pipelined_requests)) {
        bail_out("$name - invalid entries in --- pipelined_requests")
            unless ref $reqs eq 'ARRAY';
        my $all = '';
        for my $i (0 .. $#$reqs) {
            my $conn = $i == $#$reqs ? 'close' : 'keep-alive';
            my $r = expand_env($reqs->[$i], $ports, $name);
            $all .= join '', @{ build_request($name, headers_for($name, $more,
                                                                  $i),
                                              $conn, [$r]) };
        }
        return ([[{ value => $all }]], scalar @$reqs);
    }

    my $req;
    if (defined $block->request_eval) {
        Test::More::diag("$name - request_eval DEPRECATED. Use request eval "
                         . "instead.");
        $req = eval $block->request_eval;
        warn $@ if $@;
    } else {
        $req = $block->request;
    }
    return () unless defined $req;

    if (!ref $req) {
        # leading blank and "# comment" lines are not part of the request
        1 while $req =~ s/^\s*#[^\n]*\n|^\s+//s;
        return ([[map { +{ value => $_ } }
                  @{ build_request($name, headers_for($name, $more, 0),
                                   'close', [$req]) }]], 1);
    }
    bail_out("$name - invalid --- request: MUST be string or array of "
             . "requests") unless ref $req eq 'ARRAY';

    my @conns;
    for my $i (0 .. $#$req) {
        my $one = $req->[$i];
        my ($hdr, $chunked) = headers_for($name, $more, $i);
        if (!ref $one) {
            push @conns, [map { +{ value => $_ } }
                          @{ build_request($name, $hdr, $chunked, 'close',
                                           [$one]) }];
            next;
        }
        bail_out("$name - invalid request $i: a string or an array of "
                 . "packets") unless ref $one eq 'ARRAY';
        my @pk = map { ref $_ eq 'HASH' ? $_->{value} : $_ } @$one;
        my $built = build_request($name, $hdr, $chunked, 'close', \@pk);
        push @conns, [map {
            my $orig = $one->[$_];
            +{ value => $built->[$_],
               delay_before => ref $orig eq 'HASH' ? $orig->{delay_before}
                                                   : undef }
        } 0 .. $#$built];
    }
    return \@conns, 1;
}


# --- sending ---

sub connect_server {
    my ($block, $timeout) = @_;
    my $name = $block->name;
    my $addr = $block->server_addr_for_client // $ServerAddr;
    my $step = $TestNginxSleep;
    for my $try (1 .. 50) {
        my $sock = IO::Socket::INET->new(PeerAddr => $addr,
                                         PeerPort => $ServerPortForClient,
                                         Proto => 'tcp', Timeout => $timeout);
        return $sock if $sock;
        my $err = $!;
        # valgrind mode: do not wait for an nginx that already died
        my $st = Test::Nginx::Process::check_child_alive($name, '');
        if (!$st->{ok}) {
            my $emerg = $st->{emerg} // 'no [emerg] line in error.log';
            Test::More::fail("$name - Can't connect to $addr:"
                             . "$ServerPortForClient: nginx is gone: $emerg");
            return undef;
        }
        my $wait = ($step + $step * $try) * $try / 2;
        $wait = 1 if $wait > 1;
        warn "$name - Can't connect to $addr:$ServerPortForClient: $err; "
             . "retrying after $wait sec\n" if $wait >= 0.6;
        sleep $wait;
        if ($try == 50) {
            Test::More::fail("$name - Can't connect to $addr:"
                             . "$ServerPortForClient: $err (aborted)");
        }
    }
    return undef;
}

# Sends one connection's packets and reads until EOF.  The timeout applies
# between I/O events.  Returns the raw response (undef if no connection).
sub send_request {
    my ($block, $packets, $timeout) = @_;
    my $name = $block->name;
    my $sock = connect_server($block, $timeout) or return undef;
    $sock->blocking(0);
    local $SIG{PIPE} = 'IGNORE';

    my $middle_delay = parse_time($block->raw_request_middle_delay);
    my $shutdown = $block->shutdown;
    my @pk = @$packets;
    my ($wbuf, $resp, $first) = ('', '', 1);
    my $writing = 1;
    my $sel = IO::Select->new($sock);

    while (1) {
        if ($writing && $wbuf eq '') {
            if (!@pk) {
                $writing = 0;
                if (defined $shutdown) {
                    $sock->shutdown($shutdown =~ /^\d$/ ? $shutdown : 1);
                }
            } else {
                my $p = shift @pk;
                my $delay = $p->{delay_before} // ($first ? 0 : $middle_delay);
                sleep $delay if $delay;
                $wbuf = $p->{value} // '';
                $first = 0;
                next if $wbuf eq '';
            }
        }

        my ($r, $w) = IO::Select->select($sel, $writing ? $sel : undef,
                                         undef, $timeout);
        if (!$r && !$w) {
            next if $! == EINTR;
            Test::More::fail("ERROR: client socket timed out - $name")
                unless defined $block->abort;
            last;
        }

        if ($w && @$w) {
            my $n = syswrite $sock, $wbuf;
            if (defined $n) {
                substr($wbuf, 0, $n) = '';
            } elsif ($! != EAGAIN && $! != EWOULDBLOCK) {
                # the server may answer and close before reading it all
                warn "$name - write failed: $!\n" if $Verbose;
                ($writing, $wbuf, @pk) = (0, '');
            }
        }

        if ($r && @$r) {
            my $n = sysread $sock, my $buf, 65536;
            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK;
                warn "$name - read failed: $!\n" if $Verbose;
                last;
            }
            last if $n == 0;
            $resp .= $buf;
            # an upgraded connection stays open: stop after the headers
            last if $resp =~ m{\AHTTP/\d\.\d 101\b.*?\r\n\r\n}s;
        }
    }
    close $sock;
    return $resp;
}


# --- parsing ---

sub header {
    my ($res, $key) = @_;
    my @v = map { $_->[1] } grep { lc $_->[0] eq lc $key } @{ $res->{headers} };
    return @v ? join(', ', @v) : undef;
}

# Returns ($res, $raw_headers, $left).  $res is {code, headers => [[k, v]],
# content} or undef when the body is broken (a failure is reported).
sub parse_response {
    my ($name, $raw, $head_req) = @_;
    $raw //= '';
    my ($raw_headers, $head, $body) = ('', $raw, '');
    if ($raw =~ /\A(.*?\r\n)\r\n/s) {
        $raw_headers = $head = $1;
        $body = substr($raw, length($1) + 2);
    }

    my $res = { code => undef, headers => [], content => $body };
    my @lines = split /\r?\n/, $head;
    my $status = shift(@lines) // '';
    $res->{code} = $1 if $status =~ m{^HTTP/\d+\.\d+\s+(\d+)};
    for my $l (@lines) {
        if ($l =~ /^[ \t]+(.*)/ && @{ $res->{headers} }) {
            $res->{headers}[-1][1] .= " $1";    # obsolete line folding
        } elsif ($l =~ /^([^:]+?)\s*:\s*(.*?)\s*$/) {
            push @{ $res->{headers} }, [$1, $2];
        }
    }

    my $code = $res->{code} // 0;
    return ($res, $raw_headers) if $code == 101 || $code == 304;

    my $te = header($res, 'Transfer-Encoding');
    my $len = header($res, 'Content-Length');
    my $left;

    if (defined $te && lc $te eq 'chunked') {
        my ($decoded, $pos) = ('', 0);
        while (1) {
            pos($body) = $pos;
            if ($body =~ /\G0[ \t]*\r\n(?:[^\r\n]+\r\n)*\r\n/gc) {
                $left = substr($body, pos $body) if pos($body) < length $body;
                last;
            }
            pos($body) = $pos;
            if ($body =~ /\G[ \t]*([0-9A-Fa-f]+)[ \t]*(?:;[^\r\n]*)?\r\n/gc) {
                my $size = hex $1;
                my $start = pos $body;
                if (length($body) - $start < $size) {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(not enough octets for the data "
                                     . "section)");
                    return (undef, $raw_headers);
                }
                $decoded .= substr($body, $start, $size);
                $pos = $start + $size;
                if (substr($body, $pos, 2) ne "\r\n") {
                    Test::More::fail("$name - invalid chunked data received "
                                     . "(expected CRLF).");
                    return (undef, $raw_headers);
                }
                $pos += 2;
            } elsif ($pos < length $body) {
                Test::More::fail("$name - invalid chunked body received: "
                                 . fmt_str(substr($body, $pos, 80)));
                return (undef, $raw_headers);
            } else {
                Test::More::fail("$name - no last chunk found - "
                                 . fmt_str(substr($body, 0, 200)));
                return (undef, $raw_headers);
            }
        }
        $res->{content} = $decoded;

    } elsif (defined $len && $len =~ /^\d+$/) {
        if (length $body < $len) {
            warn "WARNING: $name - response body truncated: $len expected, "
                 . "but got " . length($body) . "\n" unless $head_req;
        } elsif (length $body > $len) {
            $left = substr($body, $len);
            $res->{content} = substr($body, 0, $len);
        }
    }

    return ($res, $raw_headers, $left);
}

1;
