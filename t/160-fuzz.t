#!/usr/bin/perl

# The libFuzzer targets (t/fuzz/*_fuzz.c, built by `make fuzz-build`
# with ASan and UBSan into build/fuzz/), briefly: every input kept in
# t/fuzz/regress/NAME (crashes found and fixed) replayed, then
# TRTC_FUZZ_SECONDS (default 12) of fuzzing from t/fuzz/corpus/NAME.
# What they find is written to a temporary directory, never into the
# tree.  `make fuzz` runs them for longer (FUZZ_SECONDS).

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use FindBin;

use TrtcTest::Turn;

my $root = "$FindBin::Bin/..";
my $secs = $ENV{TRTC_FUZZ_SECONDS} || 12;
my @targets = map { m{/(\w+)_fuzz\.c$} ? $1 : () }
              glob "$root/t/fuzz/*_fuzz.c";

plan skip_all => 'no fuzz targets' unless @targets;

for my $t (@targets) {
    my $bin = "$root/build/fuzz/${t}_fuzz";
    unless (-x $bin) {
        fail("$t: $bin not built (make fuzz-build)");
        next;
    }

    my $tmp = tempdir("trtc-fuzz-$t-XXXXXX", TMPDIR => 1, CLEANUP => 1);
    my @regress = glob "$root/t/fuzz/regress/$t/*";

    if (@regress) {
        my $r = TrtcTest::Turn::run(60, $bin, '-close_fd_mask=3',
                                    "-artifact_prefix=$tmp/", @regress);
        ok($r->{rc} == 0 && !$r->{timed_out},
           "$t: " . @regress . ' regression inputs replayed')
            or diag(TrtcTest::Turn::tail($r->{out}, 40));
    }

    my $r = TrtcTest::Turn::run($secs + 30, $bin, "-max_total_time=$secs",
        '-close_fd_mask=3', '-print_final_stats=1',
        "-artifact_prefix=$tmp/", "$tmp", "$root/t/fuzz/corpus/$t");
    my ($runs) = $r->{out} =~ /stat::number_of_executed_units:\s*(\d+)/;
    my ($cov) = $r->{out} =~ /DONE\s+cov: (\d+)/;
    ok($r->{rc} == 0 && !$r->{timed_out} && $runs,
       "$t: ${secs} s, " . ($runs // 0) . ' inputs, coverage '
       . ($cov // '?') . ', nothing found')
        or diag(TrtcTest::Turn::tail($r->{out}, 40));
}

done_testing;
