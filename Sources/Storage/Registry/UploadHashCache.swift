import OCI

/// The running sha256 state of uploads in progress, so a chunked upload is hashed once as
/// it streams. It is only an optimisation: an entry whose offset does not match the data on
/// storage (another replica took a chunk, the server restarted) is ignored and the data is
/// re-read at commit.
actor UploadHashCache {
    private var entries: [UploadID: (offset: Int64, hasher: DigestHasher)] = [:]
    private let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    func hasher(for id: UploadID, at offset: Int64) -> DigestHasher? {
        guard let entry = entries[id], entry.offset == offset else { return nil }
        return entry.hasher
    }

    func store(_ hasher: DigestHasher, for id: UploadID, at offset: Int64) {
        if entries.count >= capacity, entries[id] == nil, let victim = entries.keys.first {
            entries.removeValue(forKey: victim)
        }
        entries[id] = (offset, hasher)
    }

    func remove(_ id: UploadID) { entries.removeValue(forKey: id) }
}
