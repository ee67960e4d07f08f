import Foundation
import OCI

/// An upload session id: a lowercase RFC 4122 UUID, as Distribution generates them.
public struct UploadID: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init(_ text: some StringProtocol) throws(RegistryError) {
        guard let uuid = UUID(uuidString: String(text)), uuid.uuidString.lowercased() == text.lowercased(),
              text.utf8.count == 36 else {
            throw RegistryError(.blobUploadUnknown, message: "blob upload unknown to registry")
        }
        value = text.lowercased()
    }

    public static func random() -> UploadID {
        // A freshly generated UUID is valid by construction.
        try! UploadID(UUID().uuidString.lowercased())
    }

    public var description: String { value }
}
