import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Storage used per repository, largest first, computed on demand and kept a few minutes.
extension WebUI {
    func registerStorage(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/storage") { request, context in try await adminPage(request, context) { try await storagePage($0, request: request) } }
    }

    func storagePage(_ admin: Admin, request: Request) async throws -> Response {
        var admin = admin
        admin.frame.title = "Storage"
        let report = try await storageReport(refresh: request.uri.queryParameters["refresh"] != nil)
        let pages = max(1, (report.rows.count + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        let total = report.rows.reduce(Int64(0)) { $0 + $1.bytes }
        return render("admin-storage", AdminStoragePage(
            frame: admin.frame, computedAt: Formatting.time(report.at), repositories: report.rows.count,
            total: Formatting.size(total),
            rows: report.rows.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize).map {
                .init(name: $0.name, blobs: $0.blobs, size: Formatting.size($0.bytes))
            },
            page: page, pages: pages, previous: page > 1 ? "?page=\(page - 1)" : nil, next: page < pages ? "?page=\(page + 1)" : nil))
    }
}

struct AdminStoragePage {
    struct Row { var name: String; var blobs: Int; var size: String }
    var frame: PageFrame
    var computedAt: String
    var repositories: Int
    var total: String
    var rows: [Row]
    var page: Int
    var pages: Int
    var previous: String?
    var next: String?
}

extension WebUI {
    /// Every repository's blobs and bytes, largest first, and the uploads left unfinished for
    /// a day: computed on demand, kept ten minutes.
    func storageReport(refresh: Bool) async throws -> StorageUsageCache.Report {
        try await storageUsage.report(refresh: refresh) { [queries] in
            var rows: [(name: String, blobs: Int, bytes: Int64)] = []
            for name in try await queries.repositories() {
                guard let repository = try? RepositoryName(name) else { continue }
                let usage = try await queries.usage(repository)
                rows.append((name, usage.blobs, usage.bytes))
            }
            let uploads = (try? await queries.abandonedUploads(startedBefore: Date().addingTimeInterval(-86400))) ?? []
            return StorageUsageCache.Report(at: Date(), rows: rows.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name },
                                            abandonedUploads: uploads.count, abandonedBytes: uploads.reduce(0) { $0 + $1.bytes })
        }
    }
}

/// The storage figures, computed on demand and kept a few minutes: they cost a stat of every
/// blob of every repository and a walk of the uploads.
actor StorageUsageCache {
    struct Report: Sendable {
        var at: Date
        var rows: [(name: String, blobs: Int, bytes: Int64)]
        var abandonedUploads = 0
        var abandonedBytes: Int64 = 0

        /// Bytes per namespace (a name's first component; a repository without one is its own).
        var namespaces: [(name: String, bytes: Int64)] {
            var bytes: [String: Int64] = [:]
            for row in rows { bytes[String(row.name.split(separator: "/").first ?? ""), default: 0] += row.bytes }
            return bytes.map { ($0.key, $0.value) }.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        }
    }
    private var report: Report?
    private let maxAge: TimeInterval = 600

    /// The cached report, if one is fresh.
    var fresh: Report? {
        guard let report, Date().timeIntervalSince(report.at) < maxAge else { return nil }
        return report
    }

    func report(refresh: Bool, compute: @Sendable () async throws -> Report) async throws -> Report {
        if !refresh, let report, Date().timeIntervalSince(report.at) < maxAge { return report }
        let fresh = try await compute()
        report = fresh
        return fresh
    }
}
