import Foundation
import OCI

/// Remembers recently read `link` files (a tag's current manifest, whether a revision is
/// linked) for a moment, so a burst of pulls does not re-read the same small files for
/// every request. Berth's own writes and deletes invalidate entries at once; changes made
/// by another process sharing the storage are seen within `lifetime`.
actor LinkCache {
    private struct Entry { var digest: Digest?; var expires: ContinuousClock.Instant }
    private var entries: [StoragePath: Entry] = [:]
    private let lifetime: Duration
    private let capacity: Int

    init(lifetime: Duration = .seconds(1), capacity: Int = 100_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// `.some(digest or nil)` when a fresh answer is cached, `nil` when it must be read.
    func lookup(_ path: StoragePath) -> Digest?? {
        guard let entry = entries[path] else { return nil }
        guard entry.expires > .now else {
            entries.removeValue(forKey: path)
            return nil
        }
        return .some(entry.digest)
    }

    func store(_ path: StoragePath, _ digest: Digest?) {
        if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        entries[path] = Entry(digest: digest, expires: .now + lifetime)
    }

    func invalidate(_ path: StoragePath) { entries.removeValue(forKey: path) }

    func invalidate(repository prefix: StoragePath) {
        entries = entries.filter { !$0.key.hasPrefix(prefix) }
    }
}
