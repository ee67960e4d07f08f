// The system's OpenSSL libcrypto (Debian's libssl-dev), for two things swift-crypto does not do
// as needed:
// - SHA-256 with its state in a plain struct (SHA256_CTX), so an upload's running hash can be
//   saved and restored; swift-crypto keeps its state private. These functions are deprecated
//   in OpenSSL 3 in favour of EVP, which has no way to export the state.
// - RS256 registry tokens through EVP: OpenSSL 3's RSA-2048 private-key operation is about
//   2.4 times as fast as BoringSSL's on x86-64 with AVX-512 IFMA, and it bounds the token
//   endpoint's rate with an RSA key.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/bio.h>
#include <openssl/err.h>
