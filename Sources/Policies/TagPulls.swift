import Auth
import Foundation
import OCI
import Storage

/// Records when tags are pulled, for retention's `keep_pulled_days`: at most one storage
/// write per tag per `interval` in this process, off the request's path (days of precision
/// are what retention needs).
public actor TagPullRecorder {
    let store: RegistryStore
    let interval: TimeInterval
    private var recorded: [String: Date] = [:]

    public init(store: RegistryStore, interval: TimeInterval = 3600) {
        self.store = store
        self.interval = interval
    }

    func pulled(_ repository: RepositoryName, _ tag: Tag) {
        let key = "\(repository.value):\(tag.value)", now = Date()
        if let last = recorded[key], now.timeIntervalSince(last) < interval { return }
        if recorded.count >= 100_000 { recorded.removeAll(keepingCapacity: true) }
        recorded[key] = now
        let store = store
        Task.detached { try? await store.recordTagPull(repository, tag, at: now) }
    }
}

/// The part of retention that runs on each pull: noting the pulls of tags its rules keep by
/// `keep_pulled_days`.
struct TagPullRecording: RepositoryPolicy {
    let repositories: [String]
    let recorder: TagPullRecorder

    func after(_ change: ContentChange) async {
        guard case .pulled(let repository, let tag) = change,
              repositories.contains(where: { Pattern.matches($0, repository.description) }) else { return }
        await recorder.pulled(repository, tag)
    }
}
