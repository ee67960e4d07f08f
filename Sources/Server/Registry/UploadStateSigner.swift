import HTTPTypes
import Auth
import Crypto
import Foundation
import OCI
import Storage

/// Signs the `_state` query parameter of upload URLs with the `http.secret`, binding an
/// upload id to the repository it was started in, so a Location cannot be forged or moved
/// to another repository. The upload's offset is always read from storage, not the state.
struct UploadStateSigner: Sendable {
    private let key: SymmetricKey

    init(secret: [UInt8]) {
        key = SymmetricKey(data: secret)
    }

    func state(repository: RepositoryName, id: UploadID) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array("\(repository.value)\n\(id.value)".utf8), using: key)
        return Base64URL.encode(Data(mac))
    }

    /// A missing state is accepted (the id alone is unguessable); a present one must verify.
    func verify(_ state: String?, repository: RepositoryName, id: UploadID) throws(RegistryError) {
        guard let state else { return }
        guard state.utf8.count <= 128, let given = Base64URL.decode(state),
              HMAC<SHA256>.isValidAuthenticationCode(given, authenticating: Array("\(repository.value)\n\(id.value)".utf8), using: key)
        else {
            throw RegistryError(.blobUploadInvalid, message: "blob upload invalid: upload state does not verify")
        }
    }
}
