# ngx_trtc_module + turnd
#
#   make            build build/turnd and build/ngx_http_trtc_module.so
#   make run        install what it needs, build, run nginx + turnd on loopback
#   make test       install what the tests need, build, prove -r t/
#   make bench      benchmarks (bench/)
#   make fuzz       each libFuzzer target for FUZZ_SECONDS (t/fuzz/)
#
# The module is built against Debian's nginx (nginx-dev ships its headers
# and build system in /usr/share/nginx/src), so the .so loads into the
# `nginx` package.  NGINX_SRC=DIR builds it against another nginx tree
# (e.g. an ASan build of the upstream tarball); NGINX_CONFIGURE_ARGS and
# NGINX_CC_OPT then say how that tree's nginx was configured.

CC ?=           cc
NGINX_SRC ?=    /usr/share/nginx/src
NGINX_CC_OPT ?=
NGINX_LD_OPT ?=
NGINX_CONFIGURE_ARGS ?= --with-compat --with-http_ssl_module --with-threads

B :=            build
WARN :=         -Wall -Wextra -Werror
CFLAGS ?=       -O2 -g
TD_CFLAGS :=    -std=gnu11 -D_GNU_SOURCE $(WARN) -Icommon -Iturnd \
                -Iturnd/bpf -I$(B)/bpf \
                $(if $(TD_VERSION),-DTD_VERSION='"$(TD_VERSION)"')
TD_LIBS :=      -lssl -lcrypto -lz -lpthread -lsystemd -lbpf

COMMON_SRCS :=  $(wildcard common/*.c)
TURND_SRCS :=   $(filter-out turnd/td_main.c, $(wildcard turnd/*.c)) \
                turnd/bpf/td_offload.c
LIB_OBJS :=     $(patsubst %.c, $(B)/obj/%.o, $(COMMON_SRCS) $(TURND_SRCS))
UNIT_TESTS :=   $(patsubst t/unit/%_test.c, $(B)/t/%_test, \
                    $(wildcard t/unit/*_test.c))
MODULE_SRCS :=  config $(wildcard ngx_trtc_module/*.[ch]) \
                $(wildcard common/*.[ch])

# Debian packages: to build, to run, and what the tests drive.
DEPS_BUILD :=   gcc make libc6-dev libssl-dev libpcre2-dev zlib1g-dev \
                nginx nginx-dev libsystemd-dev \
                clang libbpf-dev bpftool
DEPS_RUN :=     $(DEPS_BUILD) curl ca-certificates openssl \
                libnginx-mod-stream
# make deb, and its test (t/600): Debian's packaging tools
DEPS_DEB :=     dpkg-dev debhelper fakeroot lintian adduser
DEPS_TEST :=    $(DEPS_RUN) perl libtest-base-perl libtest-longstring-perl \
                libtext-diff-perl libjson-pp-perl libipc-run-perl \
                liblist-moreutils-perl libwww-perl libhttp-message-perl \
                coturn chromium valgrind iproute2 python3-websockets \
                $(DEPS_DEB) prometheus systemd clang libclang-rt-14-dev \
                firefox-esr libnss3-tools nftables conntrack ethtool \
                strace

.PHONY: all turnd module unit deps deps-run deps-test run test bench clean \
        deb fuzz fuzz-build asan

all: turnd module unit

turnd: $(B)/turnd

module: $(B)/ngx_http_trtc_module.so

unit: $(UNIT_TESTS)


$(B)/obj/%.o: %.c $(wildcard common/*.h turnd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(TD_CFLAGS) -c -o $@ $<

# kernel-offload: the TC program, built into turnd as a bpftool skeleton

BPF_CFLAGS :=   -O2 -g -Wall -Werror -target bpf -Iturnd/bpf \
                -I/usr/include/$(shell $(CC) -dumpmachine)

$(B)/bpf/td_offload.bpf.o: turnd/bpf/td_offload.bpf.c turnd/bpf/td_offload_map.h
	@mkdir -p $(dir $@)
	clang $(BPF_CFLAGS) -c -o $@ $<

$(B)/bpf/td_offload.skel.h: $(B)/bpf/td_offload.bpf.o
	bpftool gen skeleton $< name td_offload_bpf > $@.tmp
	mv $@.tmp $@

$(patsubst %, %/obj/turnd/bpf/td_offload.o, $(B) $(B)/asan $(B)/fuzz): \
                $(B)/bpf/td_offload.skel.h turnd/bpf/td_offload_map.h

$(B)/libtd.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(B)/turnd: $(B)/obj/turnd/td_main.o $(B)/libtd.a
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(TD_LIBS)

$(B)/t/%_test: t/unit/%_test.c $(wildcard t/unit/*.h) $(B)/libtd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(TD_CFLAGS) -It/unit -o $@ $< $(B)/libtd.a $(TD_LIBS)


# nginx's configure writes into the tree it runs in, so it runs in a copy
# (nothing under /usr is touched).  Its Makefile compiles the module with
# nginx's own flags: -W (= -Wextra) -Wall -Werror among them.

$(B)/nginx/Makefile: config $(NGINX_SRC)/configure \
                    ngx_trtc_module/ngx_http_trtc_diagnostics.html
	rm -rf $(B)/nginx-src $(B)/nginx
	mkdir -p $(B)
	cp -a $(NGINX_SRC) $(B)/nginx-src
	cd $(B)/nginx-src && bash -c ' \
	    if [ -f conf_flags ]; then . ./conf_flags; \
	    else NGX_CONF_FLAGS=($(NGINX_CONFIGURE_ARGS)); fi; \
	    ./configure "$${NGX_CONF_FLAGS[@]}" \
	        --with-cc-opt="-fPIC $(NGINX_CC_OPT)" \
	        --with-ld-opt="-fPIC $(NGINX_LD_OPT)" \
	        --add-dynamic-module=$(CURDIR) --builddir=$(CURDIR)/$(B)/nginx' \
	    > $(CURDIR)/$(B)/nginx-configure.log 2>&1 \
	    || { tail -20 $(CURDIR)/$(B)/nginx-configure.log; exit 1; }

$(B)/ngx_http_trtc_module.so: $(B)/nginx/Makefile $(MODULE_SRCS)
	$(MAKE) -s -f $(CURDIR)/$(B)/nginx/Makefile -C $(B)/nginx-src modules
	cp $(B)/nginx/ngx_http_trtc_module.so $@.tmp
	mv $@.tmp $@    # a running nginx keeps the file it mapped


# Packages.  Idempotent: only missing packages are installed.

deps:
	@util/deps.sh $(DEPS_BUILD)

deps-run:
	@util/deps.sh $(DEPS_RUN)

deps-test:
	@util/deps.sh $(DEPS_TEST)


run: deps-run
	$(MAKE) turnd module
	util/run.sh

test: deps-test
	$(MAKE) all fuzz-build asan
	util/layers.sh $(B)/obj
	TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(B)/ngx_http_trtc_module.so \
	    prove -I t/lib -r t/
	@if [ -f $(TEST_NGINX_REAL)/lib/Test/Nginx/Socket.pm ]; then \
	    echo "the block-format files again, under the real Test::Nginx" \
	         "($(TEST_NGINX_REAL)):"; \
	    echo prove -j3 -I $(TEST_NGINX_REAL)/lib -I t/lib $(BLOCK_TESTS); \
	    TEST_NGINX_RANDOMIZE=1 \
	    TEST_NGINX_LOAD_MODULES=$(CURDIR)/$(B)/ngx_http_trtc_module.so \
	    prove -j3 -I $(TEST_NGINX_REAL)/lib -I t/lib $(BLOCK_TESTS); \
	else \
	    echo "skipped: the block-format files under the real Test::Nginx" \
	         "($(TEST_NGINX_REAL) is not there; TEST_NGINX_REAL=DIR)"; \
	fi
	@echo "the turnd tests again, under ASan and UBSan ($(B)/asan/turnd):"
	TRTC_TEST_TURND=$(CURDIR)/$(B)/asan/turnd prove -I t/lib $(ASAN_TESTS)

bench: deps-test
	$(MAKE) all
	bench/run.sh
	PARTS=tls bench/run.sh
	bench/proxy/run.sh
	bench/spool/run.sh

# Debian packages (debian/), built in a copy of the tree so that nothing
# lands next to it: build/deb/*.deb, then lintian on them.

deb:
	@util/deps.sh $(DEPS_BUILD) $(DEPS_DEB)
	rm -rf $(B)/deb
	mkdir -p $(B)/deb/src
	@# one tar for every name: xargs would split a long list into two archives
	git ls-files -z -co --exclude-standard | tar cf - --null -T - \
	    | tar xf - -C $(B)/deb/src
	cd $(B)/deb/src && dpkg-buildpackage -b -us -uc \
	    > ../build.log 2>&1 || { tail -30 ../build.log; exit 1; }
	lintian --fail-on error,warning $(B)/deb/*.changes

clean:
	rm -rf $(B) t/servroot*


# The second runner: the real Test::Nginx (kept beside the checkout, see
# README "Tests"), on every block-format file, 3 at a time (own ports and
# servroots).

TEST_NGINX_REAL ?= $(abspath $(CURDIR)/../shared/tools/test-nginx)
BLOCK_TESTS :=  $(shell grep -l '^__DATA__' t/*.t)


# Sanitizers.  build/asan/turnd: turnd under ASan and UBSan, for the
# second pass of `make test` (TRTC_TEST_TURND selects it).  Fuzz targets
# (t/fuzz/*_fuzz.c): libFuzzer with ASan and UBSan; `make test` runs each
# for a few seconds over its corpus (t/fuzz/corpus/NAME), `make fuzz` for
# FUZZ_SECONDS each, keeping what it finds in build/fuzz/corpus/NAME
# (merge the useful inputs into t/fuzz/corpus/NAME with -merge=1).

SAN_CC ?=       clang
SAN_FLAGS :=    -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 600
FUZZ_TARGETS := $(patsubst t/fuzz/%_fuzz.c, %, $(wildcard t/fuzz/*_fuzz.c))
ASAN_TESTS :=   t/100-turnd-clients.t t/110-turnd-refusals.t \
                t/130-turnd-tcp-framing.t t/135-turnd-tls-proxy.t \
                t/140-turnd-relay-socket.t $(wildcard t/1[5-8]*-turnd-*.t)
ASAN_OBJS :=    $(patsubst %.c, $(B)/asan/obj/%.o, $(COMMON_SRCS) \
                    $(TURND_SRCS))
FUZZ_OBJS :=    $(patsubst %.c, $(B)/fuzz/obj/%.o, $(COMMON_SRCS) \
                    $(TURND_SRCS))

.SECONDARY: $(ASAN_OBJS) $(FUZZ_OBJS)

asan: $(B)/asan/turnd

fuzz-build: $(patsubst %, $(B)/fuzz/%_fuzz, $(FUZZ_TARGETS))

$(B)/asan/obj/%.o: %.c $(wildcard common/*.h turnd/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) $(TD_CFLAGS) -c -o $@ $<

$(B)/asan/turnd: $(B)/asan/obj/turnd/td_main.o $(ASAN_OBJS)
	$(SAN_CC) $(SAN_FLAGS) -o $@ $^ $(TD_LIBS)

$(B)/fuzz/obj/%.o: %.c $(wildcard common/*.h turnd/*.h)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer-no-link $(TD_CFLAGS) \
	    -c -o $@ $<

$(B)/fuzz/%_fuzz: t/fuzz/%_fuzz.c $(FUZZ_OBJS)
	$(SAN_CC) $(SAN_FLAGS) -fsanitize=fuzzer $(TD_CFLAGS) -o $@ $^ \
	    $(TD_LIBS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    mkdir -p $(B)/fuzz/corpus/$$t $(B)/fuzz/crash/$$t; \
	    echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/$${t}_fuzz -max_total_time=$(FUZZ_SECONDS) \
	        -close_fd_mask=3 -print_final_stats=1 \
	        -artifact_prefix=$(B)/fuzz/crash/$$t/ \
	        $(B)/fuzz/corpus/$$t t/fuzz/corpus/$$t \
	        > $(B)/fuzz/$$t.log 2>&1 \
	        || { tail -40 $(B)/fuzz/$$t.log; exit 1; }; \
	    grep -E '^(#[0-9]+.*DONE|stat::)' $(B)/fuzz/$$t.log; \
	done
