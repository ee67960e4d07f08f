import Foundation
import OCI

/// A sorted in-memory list of repository names, so catalog pages are a binary search
/// instead of a walk of the whole tree. The layout stays the source of truth: the list is
/// rebuilt from it on first use and again once it is older than `maxAge` (to pick up
/// repositories written by other processes sharing the storage), while Berth's own pushes
/// insert into it immediately.
actor RepositoryIndex {
    private let driver: any StorageDriver
    private let maxAge: Double
    private var names: [String] = []
    private var builtAt: Double?
    private var rebuilding: Task<Void, any Error>?

    init(driver: any StorageDriver, maxAge: Double = 300) {
        self.driver = driver
        self.maxAge = maxAge
    }

    func insert(_ name: RepositoryName) {
        guard builtAt != nil else { return }
        let index = lowerBound(name.value)
        if index == names.count || names[index] != name.value {
            names.insert(name.value, at: index)
        }
    }

    /// Up to `limit` names sorted after `last`, and whether more follow.
    func page(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        try await ensureFresh()
        var start = 0
        if let last {
            start = lowerBound(last)
            if start < names.count, names[start] == last { start += 1 }
        }
        let end = min(names.count, start + limit)
        return (Array(names[start..<end]), end < names.count)
    }

    func all() async throws -> [String] {
        try await ensureFresh()
        return names
    }

    private func ensureFresh() async throws {
        let now = Date().timeIntervalSince1970
        if let builtAt {
            if now - builtAt > maxAge, rebuilding == nil {
                rebuilding = Task { try await self.rebuild() }
            }
            return
        }
        if let rebuilding {
            try await rebuilding.value
            return
        }
        let task = Task { try await self.rebuild() }
        rebuilding = task
        try await task.value
    }

    private func rebuild() async throws {
        defer { rebuilding = nil }
        let started = Date().timeIntervalSince1970
        var found: [String] = []
        try await Self.walk(driver: driver, path: Layout.repositories, prefix: "", into: &found)
        // Names inserted while the walk ran are kept.
        let merged = Set(found).union(names)
        names = merged.sorted()
        builtAt = started
    }

    static func walk(driver: any StorageDriver, path: StoragePath, prefix: String, into found: inout [String]) async throws {
        let children = try await driver.listIfPresent(path)
        if !prefix.isEmpty, children.contains("_manifests") || children.contains("_layers") {
            found.append(prefix)
        }
        for child in children where !child.hasPrefix("_") {
            let name = prefix.isEmpty ? child : prefix + "/" + child
            guard (try? RepositoryName(name)) != nil else { continue }
            try await walk(driver: driver, path: try path.appending(child), prefix: name, into: &found)
        }
    }

    private func lowerBound(_ key: String) -> Int {
        var lo = 0, hi = names.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if names[mid] < key { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}
