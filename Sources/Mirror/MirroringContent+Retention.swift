import Foundation
import OCI
import Storage

extension MirroringContent {
    /// Evicts cached manifests (and their tags) nobody pulled within their upstream's
    /// retention; returns `repository@digest` of each. Their blobs go with the next gc.
    public func evictUnpulled(now: Date = Date()) async throws -> [String] {
        var evicted: [String] = []
        var last: String?
        while true {
            let page = try await local.catalog(after: last, limit: 1000)
            for text in page.names {
                guard let repository = try? RepositoryName(text), case .mirrored(let upstream, _) = route(repository),
                      upstream.retention > 0 else { continue }
                for digest in try await local.revisionDigests(repository) {
                    let pulled = try await local.lastMirrorPull(repository, digest)
                    guard pulled.map({ now.timeIntervalSince($0) > upstream.retention }) ?? true else { continue }
                    try await local.evictMirroredManifest(repository, digest)
                    evicted.append("\(repository.value)@\(digest)")
                }
            }
            guard page.more, let next = page.names.last else { break }
            last = next
        }
        if !evicted.isEmpty {
            logger.info("evicted cached manifests nobody pulled within the retention", metadata: ["count": .stringConvertible(evicted.count)])
        }
        return evicted
    }
}
