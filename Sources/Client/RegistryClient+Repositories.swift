import Foundation
import OCI

extension RegistryClient {
    /// What Berth's repository delete removed.
    public struct DeletedRepository: Decodable, Sendable {
        public var repository: String
        public var tags: [String]
        public var manifests: [String]
    }

    /// Berth's repository delete (`DELETE /berth/api/v1/repositories/NAME`, with a token for
    /// `repository:NAME:delete`); nil when the registry has no such API (not Berth).
    public func deleteRepository(_ repository: RepositoryName) async throws -> DeletedRepository? {
        let path = "/berth/api/v1/repositories/\(repository.value)"
        let response = try await send(.DELETE, path, scope: "repository:\(repository.value):delete",
                                      accept: ["application/json"], allow: [404, 405])
        if response.status == 404 || response.status == 405 {
            let errors = (try? JSONDecoder().decode(RegistryErrorBody.self, from: Data(response.bytes)))?.errors ?? []
            // Berth itself, for a repository it does not have.
            if errors.contains(where: { $0.code == "NAME_UNKNOWN" }) {
                throw ClientError.registry(status: response.status, errors: errors, url: "DELETE \(path)")
            }
            return nil
        }
        do {
            return try JSONDecoder().decode(DeletedRepository.self, from: Data(response.bytes))
        } catch {
            throw ClientError.invalidResponse("DELETE \(path): unreadable answer (\(error))")
        }
    }
}
