import Crypto
import Foundation

/// Public keys a signature of an image may be made with: cosign's and sigstore's ECDSA P-256
/// (signatures ASN.1 DER over the SHA-256 of the payload) and ed25519, from PEM
/// `PUBLIC KEY` blocks (SubjectPublicKeyInfo), several in one text.
public struct SignatureKeys: Sendable {
    enum Key: Sendable {
        case p256(P256.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    let keys: [Key]

    /// The ed25519 SubjectPublicKeyInfo before its 32 key bytes (RFC 8410).
    private static let ed25519Prefix: [UInt8] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]

    public init(pem text: String) throws {
        var keys: [Key] = []
        var rest = Substring(text)
        while let begin = rest.range(of: "-----BEGIN PUBLIC KEY-----") {
            guard let end = rest.range(of: "-----END PUBLIC KEY-----", range: begin.upperBound..<rest.endIndex) else { break }
            let block = String(rest[begin.lowerBound..<end.upperBound])
            let body = rest[begin.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
            guard let der = Data(base64Encoded: String(body)) else { throw SignatureKeyError("a PUBLIC KEY block is not base64") }
            if der.count == 44, Array(der.prefix(12)) == Self.ed25519Prefix {
                keys.append(.ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: der.suffix(32))))
            } else if let key = try? P256.Signing.PublicKey(pemRepresentation: block) {
                keys.append(.p256(key))
            } else {
                throw SignatureKeyError("a public key is neither ECDSA P-256 nor ed25519 (cosign's and sigstore's kinds)")
            }
            rest = rest[end.upperBound...]
        }
        guard !keys.isEmpty else { throw SignatureKeyError("no -----BEGIN PUBLIC KEY----- block (a cosign.pub, or `openssl pkey -pubout`)") }
        self.keys = keys
    }

    public var count: Int { keys.count }

    /// Whether one of the keys made `signature` of `payload`.
    public func verify(_ signature: [UInt8], of payload: [UInt8]) -> Bool {
        keys.contains { key in
            switch key {
            case .p256(let key):
                guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
                return key.isValidSignature(parsed, for: payload)
            case .ed25519(let key):
                return key.isValidSignature(signature, for: payload)
            }
        }
    }
}

public struct SignatureKeyError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
