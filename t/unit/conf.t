use FindBin; chdir "$FindBin::Bin/../.." or die "chdir: $!";
exec "build/t/conf_test" or die "build/t/conf_test: $! (run make unit)";
