package TrtcTest::Stun;

# A small STUN/TURN client (RFC 8489, RFC 8656) for the end-to-end tests:
# enough to see the exact response code a server gives.  Core modules only.
#
#   my $c = TrtcTest::Stun->new(proto => 'udp', port => $p,
#                               user => 'u', pass => 'p');
#   my $r = $c->allocate;                 # 401 challenge, then with integrity
#   is($r->{code}, 200);
#   $r = $c->create_permission('127.0.0.1');
#   (local => '127.0.0.2': from that source address)
#
# A response is a hash: class ('request', 'indication', 'success',
# 'error'), method, code (200 for a success, the ERROR-CODE for an error,
# undef when nothing came back), reason, attrs ([type, value] pairs),
# tid, integrity (1 good, 0 bad, undef absent).

use strict;
use warnings;

use Digest::MD5 qw(md5);
use Digest::SHA qw(hmac_sha1);
use IO::Select;
use IO::Socket::INET;
use IO::Socket::IP;
use Socket qw(inet_pton inet_ntop AF_INET AF_INET6);
use Time::HiRes qw(time);

use Exporter 'import';
our @EXPORT_OK = qw(encode decode crc32 xor_addr attr attrs peer_addr
                    rest_credentials);

use constant MAGIC => 0x2112A442;

our %METHOD = (binding => 1, allocate => 3, refresh => 4, send => 6,
               data => 7, create_permission => 8, channel_bind => 9);
our %CLASS = (request => 0, indication => 1, success => 2, error => 3);
my %CLASS_NAME = reverse %CLASS;

our %ATTR = (
    MAPPED_ADDRESS => 0x0001, USERNAME => 0x0006,
    MESSAGE_INTEGRITY => 0x0008, ERROR_CODE => 0x0009,
    UNKNOWN_ATTRIBUTES => 0x000A, CHANNEL_NUMBER => 0x000C,
    LIFETIME => 0x000D, XOR_PEER_ADDRESS => 0x0012, DATA => 0x0013,
    REALM => 0x0014, NONCE => 0x0015, XOR_RELAYED_ADDRESS => 0x0016,
    REQUESTED_ADDRESS_FAMILY => 0x0017, REQUESTED_TRANSPORT => 0x0019,
    DONT_FRAGMENT => 0x001A, XOR_MAPPED_ADDRESS => 0x0020,
    SOFTWARE => 0x8022, FINGERPRINT => 0x8028,
);


# CRC-32 (IEEE 802.3, reflected), for FINGERPRINT.
my @CRC_TABLE = map {
    my $c = $_;
    $c = $c & 1 ? 0xEDB88320 ^ ($c >> 1) : $c >> 1 for 1 .. 8;
    $c;
} 0 .. 255;

sub crc32 {
    my $crc = 0xFFFFFFFF;
    $crc = $CRC_TABLE[($crc ^ $_) & 0xFF] ^ ($crc >> 8)
        for unpack 'C*', $_[0];
    return $crc ^ 0xFFFFFFFF;
}


sub _type {
    my ($m, $c) = @_;
    return ($m & 0x000F) | (($m & 0x0070) << 1) | (($m & 0x0F80) << 2)
         | (($c & 1) << 4) | (($c & 2) << 7);
}


sub _pad { my $l = shift; return (4 - $l % 4) % 4 }


# encode(method, class, tid, [[type, value], ...], key => K,
#        fingerprint => 1): a whole STUN message.  With a key it ends with
# MESSAGE-INTEGRITY (HMAC-SHA1 over everything before it, with the length
# field already counting it), then optionally FINGERPRINT.
sub encode {
    my ($method, $class, $tid, $attrs, %o) = @_;
    my $body = '';
    for my $a (@$attrs) {
        my ($t, $v) = @$a;
        $body .= pack('nn', $t, length $v) . $v . "\0" x _pad(length $v);
    }
    my $type = _type($METHOD{$method} // $method, $CLASS{$class} // $class);
    my $hdr = sub { pack('nnN', $type, length($body) + $_[0], MAGIC) . $tid };
    if (defined $o{key}) {
        my $mac = hmac_sha1($hdr->(24) . $body, $o{key});
        $body .= pack('nn', $ATTR{MESSAGE_INTEGRITY}, 20) . $mac;
    }
    if ($o{fingerprint}) {
        my $crc = crc32($hdr->(8) . $body) ^ 0x5354554e;
        $body .= pack('nnN', $ATTR{FINGERPRINT}, 4, $crc);
    }
    return $hdr->(0) . $body;
}


# decode(bytes, key): a hash as described at the top, or undef if the bytes
# are not one STUN message.
sub decode {
    my ($buf, $key) = @_;
    return undef if length $buf < 20;
    my ($type, $len, $magic) = unpack 'nnN', $buf;
    return undef if $type & 0xC000 || $magic != MAGIC
                    || $len % 4 || length($buf) != 20 + $len;
    my $m = ($type & 0x000F) | (($type >> 1) & 0x0070)
          | (($type >> 2) & 0x0F80);
    my $c = (($type >> 4) & 1) | (($type >> 7) & 2);
    my %r = (method => $m, class => $CLASS_NAME{$c},
             tid => substr($buf, 8, 12), attrs => []);
    my $off = 20;
    while ($off + 4 <= length $buf) {
        my ($t, $l) = unpack 'nn', substr($buf, $off, 4);
        return undef if $off + 4 + $l > length $buf;
        my $v = substr($buf, $off + 4, $l);
        if ($t == $ATTR{MESSAGE_INTEGRITY} && defined $key && $l == 20) {
            my $h = substr($buf, 0, 2) . pack('n', $off + 24 - 20)
                  . substr($buf, 4, $off - 4);
            $r{integrity} = hmac_sha1($h, $key) eq $v ? 1 : 0;
        }
        push @{$r{attrs}}, [$t, $v];
        $off += 4 + $l + _pad($l);
    }
    if ($r{class} eq 'success') {
        $r{code} = 200;
    } elsif (defined(my $e = attr(\%r, 'ERROR_CODE'))) {
        my ($cls, $num) = unpack 'x2CC', $e;
        $r{code} = ($cls & 7) * 100 + $num;
        $r{reason} = substr($e, 4);
    }
    return \%r;
}


# The value of the first attribute of a type (name or number), or all.
sub attr {
    my ($r, $t) = @_;
    my @v = attrs($r, $t);
    return $v[0];
}

sub attrs {
    my ($r, $t) = @_;
    $t = $ATTR{$t} // $t;
    return map { $_->[1] } grep { $_->[0] == $t } @{$r->{attrs} || []};
}


# An XOR-*-ADDRESS value for ip (v4 or v6 text) and port.
sub xor_addr {
    my ($ip, $port, $tid) = @_;
    my $x = pack('N', MAGIC) . $tid;
    if ($ip =~ /:/) {
        my $a = inet_pton(AF_INET6, $ip) // die "bad IPv6 address $ip";
        return pack('CCn', 0, 2, $port ^ 0x2112) . ($a ^ $x);
    }
    my $a = inet_pton(AF_INET, $ip) // die "bad IPv4 address $ip";
    return pack('CCn', 0, 1, $port ^ 0x2112) . ($a ^ substr($x, 0, 4));
}


# (ip, port) from an XOR-*-ADDRESS value.
sub peer_addr {
    my ($v, $tid) = @_;
    return () unless defined $v && length $v >= 8;
    my ($fam, $port) = unpack 'xCn', $v;
    my $x = pack('N', MAGIC) . $tid;
    return (inet_ntop(AF_INET, substr($v, 4, 4) ^ substr($x, 0, 4)),
            $port ^ 0x2112) if $fam == 1;
    return (inet_ntop(AF_INET6, substr($v, 4, 16) ^ $x), $port ^ 0x2112)
        if $fam == 2 && length $v >= 20;
    return ();
}


# TURN REST API credentials (as coturn's use-auth-secret takes them).
sub rest_credentials {
    my ($secret, $name, $expiry) = @_;
    require MIME::Base64;
    my $user = "$expiry:$name";
    return ($user, MIME::Base64::encode_base64(hmac_sha1($user, $secret), ''));
}


sub new {
    my ($class, %o) = @_;
    my $self = bless { host => '127.0.0.1', proto => 'udp', timeout => 2,
                       inbox => [], rbuf => '', %o }, $class;
    my $sc = $self->{host} =~ /:/ ? 'IO::Socket::IP' : 'IO::Socket::INET';
    $self->{sock} = $sc->new(
        PeerAddr => $self->{host}, PeerPort => $self->{port},
        Proto => $self->{proto}, Timeout => $self->{timeout},
        $self->{local} ? (LocalAddr => $self->{local}) : (),
    ) or die "connect $self->{proto} $self->{host}:$self->{port}: $@";
    # proxy => BYTES: a PROXY protocol header first (before TLS)
    $self->{sock}->syswrite($self->{proxy}) if defined $self->{proxy};
    # tls => { IO::Socket::SSL options }: TURN over TLS on this connection
    if ($self->{tls}) {
        require IO::Socket::SSL;
        IO::Socket::SSL->start_SSL($self->{sock}, SSL_hostname => 'yun.test',
                                   %{$self->{tls}})
            or die "tls to $self->{host}:$self->{port}: "
                   . IO::Socket::SSL::errstr();
    }
    return $self;
}


# A PROXY protocol header: v1 (text) or v2 (binary), TCP over IPv4.
sub proxy_header {
    my ($v, $src, $sport, $dst, $dport) = @_;
    return "PROXY TCP4 $src $dst $sport $dport\r\n" if $v == 1;
    require Socket;
    return "\r\n\r\n\0\r\nQUIT\n" . pack('CCn', 0x21, 0x11, 12)
        . Socket::inet_aton($src) . Socket::inet_aton($dst)
        . pack('nn', $sport, $dport);
}


sub key {
    my $s = shift;
    return undef unless defined $s->{realm} && defined $s->{user};
    return md5("$s->{user}:$s->{realm}:$s->{pass}");
}


sub tid { return pack 'C12', map { int rand 256 } 1 .. 12 }


sub send_raw {
    my ($self, $bytes) = @_;
    # IO::Socket::SSL encrypts in syswrite only
    return $self->{sock}->syswrite($bytes) if $self->{tls};
    return $self->{sock}->send($bytes);
}


# The next whole message (STUN or ChannelData) within the timeout, or undef.
sub recv_raw {
    my ($self, $timeout) = @_;
    my $sel = IO::Select->new($self->{sock});
    my $end = time + ($timeout // $self->{timeout});
    while (1) {
        if ($self->{proto} eq 'tcp') {
            my $m = $self->_tcp_frame;
            return $m if defined $m;
        }
        my $left = $end - time;
        # TLS: decrypted bytes may wait in the library, not the socket
        my $pending = $self->{tls} && $self->{sock}->pending;
        return undef if !$pending
                        && ($left <= 0 || !$sel->can_read($left));
        my $buf;
        if ($self->{proto} eq 'udp') {
            # an error (ICMP port unreachable) is no message: wait on
            return $buf if defined $self->{sock}->recv($buf, 65536);
            next;
        }
        my $n = sysread $self->{sock}, $buf, 65536;
        return undef unless $n;
        $self->{rbuf} .= $buf;
    }
}


# Cuts one STUN message or one (padded) ChannelData message off the TCP
# stream.
sub _tcp_frame {
    my $self = shift;
    my $b = \$self->{rbuf};
    return undef if length $$b < 4;
    my ($first, $len) = unpack 'nn', $$b;
    my $total = $first < 0x4000 ? 20 + $len : 4 + $len + _pad($len);
    return undef if length $$b < $total;
    my $m = substr($$b, 0, $total, '');
    $m = substr($m, 0, 4 + $len) if $first >= 0x4000;
    return $m;
}


# Sends a request and waits for its response; indications and ChannelData
# that arrive meanwhile are kept for recv_data.  auth => 1 adds USERNAME,
# REALM, NONCE and MESSAGE-INTEGRITY from what the last 401/438 taught.
sub request {
    my ($self, $method, $attrs, %o) = @_;
    my @a = @{$attrs || []};
    my $key;
    if ($o{auth}) {
        $key = $self->key;
        push @a, [$ATTR{USERNAME}, $self->{user}], [$ATTR{REALM},
                  $self->{realm}], [$ATTR{NONCE}, $self->{nonce}]
            if defined $key;
    }
    my $tid = $o{tid} // tid();
    my $msg = encode($method, 'request', $tid, \@a, key => $key,
                     fingerprint => $o{fingerprint} // $self->{fingerprint});
    my $end = time + ($o{timeout} // $self->{timeout});
    my $tries = 0;
    # UDP retransmits a few times; TCP is reliable.
    while (time < $end) {
        $self->send_raw($msg) if $tries++ == 0 || $self->{proto} eq 'udp';
        my $until = $self->{proto} eq 'udp' ? 0.5 : $end - time;
        my $t0 = time;
        while (time - $t0 < $until) {
            my $raw = $self->recv_raw($until - (time - $t0)) // last;
            my $r = decode($raw, $self->key);
            if ($r && $r->{tid} eq $tid) {
                $self->_learn($r);
                return $r;
            }
            push @{$self->{inbox}}, $raw;
        }
    }
    return { code => undef, attrs => [] };
}


sub _learn {
    my ($self, $r) = @_;
    return unless ($r->{code} // 0) == 401 || ($r->{code} // 0) == 438;
    my $realm = attr($r, 'REALM');
    my $nonce = attr($r, 'NONCE');
    $self->{realm} = $realm if defined $realm;
    $self->{nonce} = $nonce if defined $nonce;
}


# Allocate: first without credentials (the server answers 401 with realm
# and nonce), then with them; once more on 438.  Options: transport (17),
# no_transport, lifetime, family (1 or 2), attrs (extra).
sub allocate {
    my ($self, %o) = @_;
    my @a;
    push @a, [$ATTR{REQUESTED_TRANSPORT}, pack('Cx3', $o{transport} // 17)]
        unless $o{no_transport};
    push @a, [$ATTR{LIFETIME}, pack('N', $o{lifetime})]
        if defined $o{lifetime};
    push @a, [$ATTR{REQUESTED_ADDRESS_FAMILY}, pack('Cx3', $o{family})]
        if defined $o{family};
    push @a, @{$o{attrs} || []};
    my $authed = defined $self->{nonce};
    my $r = $self->request('allocate', \@a, auth => $authed);
    $r = $self->request('allocate', \@a, auth => 1)
        if !$authed && ($r->{code} // 0) == 401 && defined $self->{nonce};
    $r = $self->request('allocate', \@a, auth => 1)
        if ($r->{code} // 0) == 438;
    if (($r->{code} // 0) == 200) {
        @$self{qw(relay_ip relay_port)} =
            peer_addr(attr($r, 'XOR_RELAYED_ADDRESS'), $r->{tid});
        @$self{qw(mapped_ip mapped_port)} =
            peer_addr(attr($r, 'XOR_MAPPED_ADDRESS'), $r->{tid});
    }
    return $r;
}


sub binding { return $_[0]->request('binding', []) }


sub refresh {
    my ($self, $lifetime) = @_;
    return $self->request('refresh',
        [defined $lifetime ? [$ATTR{LIFETIME}, pack('N', $lifetime)] : ()],
        auth => 1);
}


sub create_permission {
    my ($self, $ip, $port) = @_;
    return $self->_peer_request('create_permission', $ip, $port // 0);
}


sub channel_bind {
    my ($self, $channel, $ip, $port) = @_;
    return $self->_peer_request('channel_bind', $ip, $port,
        [$ATTR{CHANNEL_NUMBER}, pack('nx2', $channel)]);
}


# XOR-PEER-ADDRESS of an IPv6 peer is xored with the transaction id, so
# the id is chosen here.
sub _peer_request {
    my ($self, $method, $ip, $port, @extra) = @_;
    my $tid = tid();
    return $self->request($method,
        [[$ATTR{XOR_PEER_ADDRESS}, xor_addr($ip, $port, $tid)], @extra],
        auth => 1, tid => $tid);
}


sub send_indication {
    my ($self, $ip, $port, $data) = @_;
    my $tid = tid();
    return $self->send_raw(encode('send', 'indication', $tid, [
        [$ATTR{XOR_PEER_ADDRESS}, xor_addr($ip, $port, $tid)],
        [$ATTR{DATA}, $data]]));
}


sub channel_data {
    my ($self, $channel, $data) = @_;
    my $pad = $self->{proto} eq 'tcp' ? "\0" x _pad(length $data) : '';
    return $self->send_raw(pack('nn', $channel, length $data) . $data . $pad);
}


# The next relayed payload: (data, peer ip, peer port) from a Data
# indication, or (data, channel) from ChannelData; () on timeout.
sub recv_data {
    my ($self, $timeout) = @_;
    my $end = time + ($timeout // $self->{timeout});
    while (1) {
        my $raw = shift @{$self->{inbox}};
        $raw //= $self->recv_raw($end - time);
        return () unless defined $raw;
        my ($first, $len) = unpack 'nn', $raw;
        if ($first >= 0x4000 && $first < 0x8000) {
            return (substr($raw, 4, $len), $first);
        }
        my $r = decode($raw) or next;
        next unless $r->{class} eq 'indication' && $r->{method} == 7;
        return (attr($r, 'DATA'),
                peer_addr(attr($r, 'XOR_PEER_ADDRESS'), $r->{tid}));
    }
}


sub close { my $s = shift; $s->{sock}->close if $s->{sock} }

1;
