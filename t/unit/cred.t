use FindBin; chdir "$FindBin::Bin/../.." or die "chdir: $!";
exec "build/t/cred_test" or die "build/t/cred_test: $! (run make unit)";
