import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// The token signing key and the certificate chain that vouches for it (leaf first).
public struct SigningKey: Sendable {
    public enum Key: Sendable {
        case rsa(_RSA.Signing.PrivateKey)
        case ecdsaP256(P256.Signing.PrivateKey)
    }

    public let key: Key
    public let certificates: [Certificate]

    public init(key: Key, certificates: [Certificate]) throws(AuthError) {
        guard let leaf = certificates.first else { throw AuthError.configuration("a signing key needs its certificate") }
        let matches: Bool
        switch key {
        case .rsa(let k): matches = (try? _RSA.Signing.PublicKey(derRepresentation: Self.spki(leaf)).derRepresentation) == k.publicKey.derRepresentation
        case .ecdsaP256(let k): matches = leaf.publicKey == Certificate.PublicKey(k.publicKey)
        }
        guard matches else { throw AuthError.configuration("the token certificate does not belong to the token key") }
        self.key = key
        self.certificates = certificates
    }

    /// Loads a PEM private key (PKCS#8, SEC1 EC or PKCS#1 RSA) and a PEM certificate chain.
    public static func load(keyPEM: String, certificatePEM: String) throws -> SigningKey {
        let key: Key
        if let ec = try? P256.Signing.PrivateKey(pemRepresentation: keyPEM) {
            key = .ecdsaP256(ec)
        } else if let rsa = try? _RSA.Signing.PrivateKey(pemRepresentation: keyPEM) {
            key = .rsa(rsa)
        } else {
            throw AuthError.configuration("token key: not a PEM RSA (2048 bits or more) or P-256 EC private key")
        }
        let certificates = try PEMDocument.parseMultiple(pemString: certificatePEM).map { try Certificate(pemDocument: $0) }
        return try SigningKey(key: key, certificates: certificates)
    }

    /// A fresh P-256 key with a self-signed certificate, for a token service with no key configured.
    public static func generate(commonName: String = "Berth token signing", validity: TimeInterval = 10 * 365 * 86400) throws -> SigningKey {
        let privateKey = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName(commonName) }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(privateKey.publicKey),
            notValidBefore: now - 3600, notValidAfter: now + validity, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
            },
            issuerPrivateKey: .init(privateKey))
        return try SigningKey(key: .ecdsaP256(privateKey), certificates: [certificate])
    }

    public var keyPEM: String {
        switch key {
        case .rsa(let k): k.pemRepresentation
        case .ecdsaP256(let k): k.pemRepresentation
        }
    }

    public func certificatesPEM() throws -> String {
        try certificates.map { try $0.serializeAsPEM().pemString }.joined(separator: "\n") + "\n"
    }

    public var algorithm: String {
        switch key {
        case .rsa: "RS256"
        case .ecdsaP256: "ES256"
        }
    }

    /// The key id Distribution 2.8 (libtrust) expects in `kid`.
    public var libtrustKeyID: String { KeyID.libtrust(spki: (try? Self.spki(certificates[0])) ?? []) }

    static func spki(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate.publicKey)
        return serializer.serializedBytes
    }
}

/// The key identifiers registries compute for a public key.
public enum KeyID {
    /// libtrust: base32 of the first 240 bits of SHA-256(SubjectPublicKeyInfo DER), in
    /// twelve colon-separated groups of four.
    public static func libtrust(spki: [UInt8]) -> String {
        let hash = Array(SHA256.hash(data: spki)).prefix(30)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        var bits = 0, value = 0
        var out: [Character] = []
        for byte in hash {
            value = (value << 8) | Int(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[(value >> (bits - 5)) & 31])
                bits -= 5
            }
        }
        return stride(from: 0, to: out.count, by: 4).map { String(out[$0..<min($0 + 4, out.count)]) }.joined(separator: ":")
    }

    /// RFC 7638 thumbprint as Distribution 3 computes it (big-endian integers with leading
    /// zero bytes stripped, as Go's big.Int.Bytes does).
    public static func thumbprint(_ certificate: Certificate) -> String? {
        guard let spki = try? SigningKey.spki(certificate) else { return nil }
        let json: String
        if let ec = P256.Signing.PublicKey(certificate.publicKey) {
            let raw = Array(ec.x963Representation.dropFirst())
            json = #"{"crv":"P-256","kty":"EC","x":"\#(b64(stripped(raw[0..<32])))","y":"\#(b64(stripped(raw[32...])))"}"#
        } else if let rsa = try? _RSA.Signing.PublicKey(derRepresentation: spki), let p = try? rsa.getKeyPrimitives() {
            json = #"{"e":"\#(b64(stripped(p.publicExponent[...])))","kty":"RSA","n":"\#(b64(stripped(p.modulus[...])))"}"#
        } else {
            return nil
        }
        return b64(Array(SHA256.hash(data: Array(json.utf8))))
    }

    static func stripped<C: Collection<UInt8>>(_ bytes: C) -> [UInt8] {
        let a = Array(bytes.drop { $0 == 0 })
        return a.isEmpty ? [0] : a
    }

    static func b64(_ bytes: [UInt8]) -> String { Base64URL.encode(bytes) }
}
