import Crypto
import Foundation

/// Secrets Berth must use again later but not keep readable in its database (a provider's
/// refresh token): AES-GCM with a key derived from the upload secret, which lives in the
/// storage and is shared by replicas. Someone with the database alone cannot use them.
struct SecretSealer: Sendable {
    let key: SymmetricKey

    static func forProviderTokens(secret: [UInt8]) -> SecretSealer {
        SecretSealer(key: SymmetricKey(data: HMAC<SHA256>.authenticationCode(for: Array("berth provider refresh tokens".utf8),
                                                                            using: SymmetricKey(data: secret))))
    }

    func seal(_ text: String) throws -> String {
        try AES.GCM.seal(Array(text.utf8), using: key).combined!.base64EncodedString()
    }

    func open(_ sealed: String) -> String? {
        guard let data = Data(base64Encoded: sealed), let box = try? AES.GCM.SealedBox(combined: data),
              let plain = try? AES.GCM.open(box, using: key) else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
