use FindBin;
exec "$FindBin::Bin/../../build/t/crypto_test" or die "exec crypto_test: $!\n";
