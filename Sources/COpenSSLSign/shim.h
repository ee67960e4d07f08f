// OpenSSL's EVP signing (libssl-dev), for RS256 registry tokens: OpenSSL 3's RSA-2048
// private-key operation is about 2.4 times as fast as BoringSSL's (swift-crypto) on x86-64
// with AVX-512 IFMA, and it bounds the token endpoint's rate with an RSA key.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/bio.h>
#include <openssl/err.h>
