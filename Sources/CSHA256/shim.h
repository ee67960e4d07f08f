// OpenSSL's SHA-256 with its state in a plain struct (SHA256_CTX), so an upload's running
// hash can be saved and restored; swift-crypto keeps its state private. These functions
// are deprecated in OpenSSL 3 in favour of EVP, which has no way to export the state.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/sha.h>
