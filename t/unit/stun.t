use FindBin;
exec "$FindBin::Bin/../../build/t/stun_test" or die "exec stun_test: $!\n";
