import COpenSSL
import Crypto
import Foundation
import JWTKit

/// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) signed by the system's OpenSSL 3 rather than by
/// swift-crypto's BoringSSL: on the x86-64 machines Berth is measured on, OpenSSL's RSA-2048
/// private-key operation is about 2.4 times as fast (it uses AVX-512 IFMA), and that operation
/// bounds the token endpoint's rate with an RSA key. The key is parsed once; each signature
/// gets its own context, so concurrent requests sign in parallel. Tokens are verified with
/// swift-crypto as before (`TokenVerifier`), which the tests use to check these signatures.
final class OpenSSLRS256: TokenSigner, @unchecked Sendable {
    // @unchecked: the key and the template are only read after init (OpenSSL 3 allows
    // concurrent signing with one key, each operation in its own EVP_PKEY_CTX).
    let name = "RS256"
    private let key: OpaquePointer
    /// A context set up once for RS256 (PKCS#1 v1.5 padding, SHA-256) that each signature
    /// duplicates: setting one up fetches the algorithm from OpenSSL's providers, under a
    /// lock the two cores would contend for.
    private let template: OpaquePointer

    init(privateKeyPEM pem: String) throws {
        let bytes = Array(pem.utf8)
        let parsed: OpaquePointer? = bytes.withUnsafeBufferPointer { buffer in
            guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
            defer { BIO_free(bio) }
            return PEM_read_bio_PrivateKey(bio, nil, nil, nil)
        }
        guard let parsed else { throw AuthError.configuration("token key: OpenSSL cannot read the RSA private key: \(Self.failureReason())") }
        guard EVP_PKEY_get_base_id(parsed) == EVP_PKEY_RSA else {
            EVP_PKEY_free(parsed)
            throw AuthError.configuration("token key: not an RSA key")
        }
        guard let context = EVP_PKEY_CTX_new(parsed, nil) else {
            EVP_PKEY_free(parsed)
            throw AuthError.configuration("token key: OpenSSL cannot sign with it: \(Self.failureReason())")
        }
        guard EVP_PKEY_sign_init(context) == 1,
              EVP_PKEY_CTX_set_rsa_padding(context, RSA_PKCS1_PADDING) == 1,
              EVP_PKEY_CTX_set_signature_md(context, EVP_sha256()) == 1 else {
            EVP_PKEY_CTX_free(context)
            EVP_PKEY_free(parsed)
            throw AuthError.configuration("token key: OpenSSL cannot sign RS256 with it: \(Self.failureReason())")
        }
        key = parsed
        template = context
    }

    deinit {
        EVP_PKEY_CTX_free(template)
        EVP_PKEY_free(key)
    }

    func sign(_ plaintext: [UInt8]) throws -> [UInt8] {
        let digest = Array(Crypto.SHA256.hash(data: plaintext))
        guard let context = EVP_PKEY_CTX_dup(template) else { throw SigningFailure(reason: Self.failureReason()) }
        defer { EVP_PKEY_CTX_free(context) }
        var length = 0
        guard EVP_PKEY_sign(context, nil, &length, digest, digest.count) == 1 else { throw SigningFailure(reason: Self.failureReason()) }
        var signature = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_sign(context, &signature, &length, digest, digest.count) == 1 else {
            throw SigningFailure(reason: Self.failureReason())
        }
        return Array(signature.prefix(length))
    }

    /// OpenSSL's reasons for the failure just seen, emptying this thread's error queue (left
    /// there, they would be blamed on whatever next uses OpenSSL on the thread).
    static func failureReason() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reasons.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return reasons.isEmpty ? "no reason given" : reasons.joined(separator: "; ")
    }

    struct SigningFailure: Error, CustomStringConvertible {
        var reason: String
        var description: String { "OpenSSL could not sign the token: \(reason)" }
    }
}

/// What signs a token's header and claims: `alg` is its JOSE name.
protocol TokenSigner: Sendable {
    var name: String { get }
    func sign(_ plaintext: [UInt8]) throws -> [UInt8]
}

/// jwt-kit's algorithms (ES256).
struct JWTKitSigner: TokenSigner {
    let algorithm: any JWTAlgorithm
    var name: String { algorithm.name }
    func sign(_ plaintext: [UInt8]) throws -> [UInt8] { try algorithm.sign(plaintext) }
}
