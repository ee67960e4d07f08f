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
    private var insertedDuringRebuild: Set<String> = []

    private let walkRefresh: Double
    /// Where walks are expensive, the names are kept as marker objects instead.
    private let markers: CatalogMarkers?
    /// Names whose marker this process has written or read.
    private var marked: Set<String> = []

    init(driver: any StorageDriver, maxAge: Double = 60, walkRefresh: Double = 2) {
        self.driver = driver
        self.maxAge = maxAge
        self.walkRefresh = walkRefresh
        markers = driver.walksCheaply ? nil : CatalogMarkers(driver: driver)
    }

    private func rebuildNow() async throws {
        if let rebuilding {
            try await rebuilding.value
            return
        }
        let task = Task { try await self.rebuild() }
        rebuilding = task
        try await task.value
    }

    /// Called before a push that created `name` is acknowledged: on object storage its
    /// marker is written first, so every replica's catalog has it.
    func insert(_ name: RepositoryName) async throws {
        if let markers, !marked.contains(name.value) {
            try await markers.record(name.value)
            marked.insert(name.value)
        }
        if rebuilding != nil { insertedDuringRebuild.insert(name.value) }
        guard builtAt != nil else { return }
        let index = lowerBound(name.value)
        if index == names.count || names[index] != name.value {
            names.insert(name.value, at: index)
        }
    }

    /// Called after a repository was deleted (its marker too, on object storage).
    func remove(_ name: RepositoryName) async throws {
        if let markers {
            try await markers.forget(name.value)
            marked.remove(name.value)
        }
        insertedDuringRebuild.remove(name.value)
        let index = lowerBound(name.value)
        if index < names.count, names[index] == name.value { names.remove(at: index) }
    }

    /// Up to `limit` names sorted after `last`, and whether more follow. A new walk (no
    /// `last`) re-reads the layout when the list is older than `walkRefresh`, so a client
    /// listing the catalog sees repositories other processes created.
    func page(after last: String?, limit: Int) async throws -> (names: [String], more: Bool) {
        if last == nil, let builtAt, Date().timeIntervalSince1970 - builtAt > walkRefresh {
            try await rebuildNow()
        }
        try await ensureFresh()
        var start = 0
        if let last {
            start = lowerBound(last)
            if start < names.count, names[start] == last { start += 1 }
        }
        let end = min(names.count, start + limit)
        return (Array(names[start..<end]), end < names.count)
    }

    private func ensureFresh() async throws {
        let now = Date().timeIntervalSince1970
        if let builtAt {
            if now - builtAt > maxAge, rebuilding == nil {
                rebuilding = Task { try await self.rebuild() }
            }
            return
        }
        try await rebuildNow()
    }

    private func rebuild() async throws {
        defer { rebuilding = nil }
        let started = Date().timeIntervalSince1970
        let found: [String]
        if let markers {
            if let recorded = try await markers.names() {
                found = recorded
            } else {
                found = try await Self.walk(driver: driver)
                try await markers.recordAll(found, known: marked)
            }
            marked.formUnion(found)
        } else {
            found = try await Self.walk(driver: driver)
        }
        // Names inserted while the walk ran may have been missed by it.
        names = Set(found).union(insertedDuringRebuild).sorted()
        insertedDuringRebuild = []
        builtAt = started
    }

    /// The repositories in the layout, or only those of one namespace (its subtree alone is read).
    static func walk(driver: any StorageDriver, namespace: String? = nil) async throws -> [String] {
        let found = FoundNames()
        let above = namespace.map { [$0] } ?? []
        try await driver.walk(StoragePath(unchecked: Layout.repositories.components + above)) { relative, children in
            let name = above + relative
            if !name.isEmpty, children.contains("_manifests") || children.contains("_layers") {
                found.append(name.joined(separator: "/"))
            }
            return children.filter { !$0.hasPrefix("_") && RepositoryName.isValidComponent($0) }
        }
        return found.names
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

/// Collects names from the walk's visitor, which may run on another thread.
final class FoundNames: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [String] = []

    func append(_ name: String) {
        lock.lock(); defer { lock.unlock() }
        storage.append(name)
    }

    var names: [String] {
        lock.lock(); defer { lock.unlock() }
        return storage
    }
}
