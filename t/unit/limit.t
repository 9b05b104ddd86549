use FindBin; chdir "$FindBin::Bin/../.." or die "chdir: $!";
exec "build/t/limit_test" or die "build/t/limit_test: $! (run make unit)";
