import OCI

/// The bytes each namespace (a repository name's first component: `team` of `team/app/api`)
/// stores: its distinct blobs, layers, configs and manifests linked into any of its
/// repositories, a blob two of them share counting once. Measured from the layout when first
/// asked and again once `maxAge` has passed (other replicas' pushes, gc), kept current in
/// between with what this process adds; a delete forgets the figure so the next question
/// measures again.
public actor NamespaceUsage {
    public struct Figure: Sendable, Equatable, Codable {
        public var bytes: Int64
        public var blobs: Int

        public init(bytes: Int64, blobs: Int) {
            self.bytes = bytes
            self.blobs = blobs
        }
    }

    private struct Measured {
        var sizes: [Digest: Int64]
        var bytes: Int64
        var at: ContinuousClock.Instant

        mutating func add(_ digest: Digest, _ size: Int64) {
            if sizes.updateValue(size, forKey: digest) == nil { bytes += size }
        }
    }

    let store: RegistryStore
    let maxAge: Duration
    private var measured: [String: Measured] = [:]
    private var measuring: [String: Task<Measured, any Error>] = [:]
    /// Blobs added while a measurement runs: it may have listed their repository before they
    /// were linked.
    private var addedDuring: [String: [(Digest, Int64)]] = [:]

    public init(store: RegistryStore, maxAge: Duration = .seconds(60)) {
        self.store = store
        self.maxAge = maxAge
    }

    public static func namespace(of repository: RepositoryName) -> String {
        repository.components.first.map(String.init) ?? repository.description
    }

    public func usage(_ namespace: String) async throws -> Figure {
        let current = try await current(namespace)
        return Figure(bytes: current.bytes, blobs: current.sizes.count)
    }

    /// Whether the namespace already stores `digest` (a push of it adds nothing).
    public func holds(_ namespace: String, _ digest: Digest) async throws -> Bool {
        try await current(namespace).sizes[digest] != nil
    }

    /// A blob or manifest was linked into a repository of the namespace by this process.
    public func added(_ repository: RepositoryName, _ digest: Digest, size: Int64) {
        let namespace = Self.namespace(of: repository)
        if measuring[namespace] != nil { addedDuring[namespace, default: []].append((digest, size)) }
        measured[namespace]?.add(digest, size)
    }

    /// Something of the namespace was deleted: measure it again when next asked.
    public func forget(_ repository: RepositoryName) {
        measured[Self.namespace(of: repository)] = nil
    }

    private func current(_ namespace: String) async throws -> Measured {
        if let known = measured[namespace], known.at.duration(to: .now) < maxAge { return known }
        if let running = measuring[namespace] {
            var fresh = try await running.value
            for (digest, size) in addedDuring[namespace] ?? [] { fresh.add(digest, size) }
            return measured[namespace] ?? fresh
        }
        let store = store
        let task = Task { try await Self.measure(namespace, store: store) }
        measuring[namespace] = task
        addedDuring[namespace] = []
        defer {
            measuring[namespace] = nil
            addedDuring[namespace] = nil
        }
        var fresh = try await task.value
        for (digest, size) in addedDuring[namespace] ?? [] { fresh.add(digest, size) }
        measured[namespace] = fresh
        return fresh
    }

    private static func measure(_ namespace: String, store: RegistryStore) async throws -> Measured {
        let started = ContinuousClock.now
        var result = Measured(sizes: [:], bytes: 0, at: started)
        for name in try await store.repositories(inNamespace: namespace) {
            guard let repository = try? RepositoryName(name) else { continue }
            for (digest, size) in try await store.linkedBlobSizes(repository) { result.add(digest, size) }
        }
        return result
    }
}
