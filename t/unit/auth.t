use FindBin; chdir "$FindBin::Bin/../.." or die "chdir: $!";
exec "build/t/auth_test" or die "build/t/auth_test: $! (run make unit)";
