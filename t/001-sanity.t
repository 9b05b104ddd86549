# Sanity check of the test runner against stock nginx: no module needed.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3);

run_tests();

__DATA__

=== TEST 1: return 200 with a body
--- config
    location = /t {
        return 200 "hello\n";
    }
--- request
GET /t
--- response_body
hello
--- no_error_log
[error]



=== TEST 2: a missing file is a 404 logged as an error
--- config
    location /missing {
        add_header X-Sanity yes;
    }
--- request
GET /missing.html
--- error_code: 404
--- response_headers
!X-Sanity
--- error_log
No such file or directory



=== TEST 3: the request body and a header reach nginx
--- config
    location = /len {
        add_header X-Len $content_length;
        return 200 "$request_method $content_length\n";
    }
--- request
POST /len
hello world
--- response_headers
X-Len: 11
--- response_body
POST 11
