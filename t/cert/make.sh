#!/bin/sh
# Makes the test certificates of t/cert (see README).  Run once; the
# results are committed.  The CA keys are thrown away: to change anything,
# run this again and commit every file it writes.
set -e
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

days=36500      # 100 years

key() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
}

# ca NAME SUBJECT: a self-signed root
ca() {
    key "$tmp/$1.key"
    openssl req -x509 -new -key "$tmp/$1.key" -subj "/CN=$2" -days $days \
        -addext basicConstraints=critical,CA:TRUE \
        -addext keyUsage=critical,keyCertSign,cRLSign \
        -out "$tmp/$1.crt"
}

# sign CRT KEY ISSUER SUBJECT EXT...: a certificate for KEY, by ISSUER
sign() {
    out=$1 k=$2 issuer=$3 subj=$4
    shift 4
    openssl req -new -key "$k" -subj "/CN=$subj" -out "$tmp/req.csr"
    printf '%s\n' "$@" > "$tmp/ext"
    openssl x509 -req -in "$tmp/req.csr" -CA "$tmp/$issuer.crt" \
        -CAkey "$tmp/$issuer.key" -set_serial "0x$(openssl rand -hex 8)" \
        -days $days -extfile "$tmp/ext" -out "$out"
}

leaf_ext() {
    echo basicConstraints=critical,CA:FALSE
    echo keyUsage=critical,digitalSignature
    echo extendedKeyUsage=serverAuth
    echo "subjectAltName=DNS:$1"
}

ca root "trtc test root CA"
ca other "trtc test other CA"

# two intermediates: a chain that nginx's default proxy_ssl_verify_depth 1
# refuses and the depth of 4 that trtc_*_pass sets accepts
ca_ext="basicConstraints=critical,CA:TRUE keyUsage=critical,keyCertSign"
key "$tmp/int1.key"
sign "$tmp/int1.crt" "$tmp/int1.key" root "trtc test intermediate 1" $ca_ext
key "$tmp/int2.key"
sign "$tmp/int2.crt" "$tmp/int2.key" int1 "trtc test intermediate 2" $ca_ext

key signaling.test.key
sign "$tmp/signaling.crt" signaling.test.key int2 signaling.test \
    $(leaf_ext signaling.test)
cat "$tmp/signaling.crt" "$tmp/int2.crt" "$tmp/int1.crt" > signaling.test.crt

key yun.test.key
sign yun.test.crt yun.test.key root yun.test $(leaf_ext yun.test)

# the right name, the wrong issuer
key wrong.key
sign wrong.crt wrong.key other signaling.test $(leaf_ext signaling.test)

cp "$tmp/root.crt" ca.crt
chmod 644 ./*.key ./*.crt
