import OCI

/// The running sha256 state of uploads in progress, so a chunked upload is hashed once as
/// it streams. It is only an optimisation, in front of the state saved in the storage
/// (`hashstates/sha256/<offset>`): an entry whose offset does not match the data on storage
/// (another replica took a chunk) is ignored.
actor UploadHashCache {
    private var entries: [UploadID: (offset: Int64, hasher: ResumableSHA256)] = [:]
    private let capacity: Int

    init(capacity: Int = 4096) { self.capacity = capacity }

    func hasher(for id: UploadID, at offset: Int64) -> ResumableSHA256? {
        guard let entry = entries[id], entry.offset == offset else { return nil }
        return entry.hasher
    }

    func store(_ hasher: ResumableSHA256, for id: UploadID, at offset: Int64) {
        if entries.count >= capacity, entries[id] == nil, let victim = entries.keys.first {
            entries.removeValue(forKey: victim)
        }
        entries[id] = (offset, hasher)
    }

    func remove(_ id: UploadID) { entries.removeValue(forKey: id) }
}
