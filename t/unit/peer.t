use FindBin; chdir "$FindBin::Bin/../.." or die "chdir: $!";
exec "build/t/peer_test" or die "build/t/peer_test: $! (run make unit)";
