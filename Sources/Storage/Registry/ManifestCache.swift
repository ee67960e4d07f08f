import OCI

/// Manifests are immutable content, so a cache by digest never goes stale; only whether a
/// repository still links a digest must be checked on each request.
actor ManifestCache {
    private var entries: [Digest: StoredManifest] = [:]
    private var order: [Digest] = []
    private var head = 0
    private var totalBytes = 0
    private let maxBytes: Int

    init(maxBytes: Int = 64 * 1024 * 1024) {
        self.maxBytes = maxBytes
    }

    func get(_ digest: Digest) -> StoredManifest? { entries[digest] }

    func put(_ manifest: StoredManifest) {
        guard entries[manifest.digest] == nil, manifest.bytes.count <= maxBytes / 4 else { return }
        entries[manifest.digest] = manifest
        order.append(manifest.digest)
        totalBytes += manifest.bytes.count
        while totalBytes > maxBytes, head < order.count {
            if let evicted = entries.removeValue(forKey: order[head]) { totalBytes -= evicted.bytes.count }
            head += 1
        }
        if head > 4096, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
