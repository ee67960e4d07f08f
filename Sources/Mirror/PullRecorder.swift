import Foundation
import OCI
import Storage

/// Writes when mirrored manifests are pulled, at most once per `interval` per manifest and
/// off the request's path: retention needs days, not seconds, of precision.
actor PullRecorder {
    private var recorded: [String: Date] = [:]
    private let interval: Double

    init(interval: Double) {
        self.interval = interval
    }

    func pulled(_ repository: RepositoryName, _ digest: Digest, store: RegistryStore) {
        let key = "\(repository.value)@\(digest)"
        let now = Date()
        if let last = recorded[key], now.timeIntervalSince(last) < interval { return }
        if recorded.count >= 100_000 { recorded.removeAll(keepingCapacity: true) }
        recorded[key] = now
        Task.detached { try? await store.recordMirrorPull(repository, digest, at: now) }
    }
}
