import Foundation

/// When each mirrored tag was last checked against its upstream, in this process. A restart
/// forgets it, which costs one HEAD per tag, never a stale answer beyond the TTL.
actor TagFreshness {
    private var checkedAt: [String: Date] = [:]
    private let limit = 100_000

    func isFresh(_ key: String, ttl: Double) -> Bool {
        guard ttl > 0, let time = checkedAt[key] else { return false }
        return Date().timeIntervalSince(time) < ttl
    }

    func markChecked(_ key: String) {
        if checkedAt.count >= limit { checkedAt.removeAll(keepingCapacity: true) }
        checkedAt[key] = Date()
    }
}
