import Accounts
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Administration pages about the running registry rather than the accounts: one user's
/// refresh tokens, webhook delivery, storage used per repository.
extension WebUI {
    func registerOperations(on root: RouterGroup<BerthRequestContext>) {
        root.get("ui/admin/tokens") { request, context in try await adminPage(request, context) { try await tokensPage($0, request: request) } }
        root.post("ui/admin/tokens") { request, context in
            try await adminChange(request, context, { try await changeTokens($0, $1) },
                                  failed: { admin, form in try await tokensPage(admin, request: nil, account: form["account"] ?? "", status: .badRequest) })
        }
        root.get("ui/admin/webhooks") { request, context in try await adminPage(request, context) { await webhooksPage($0) } }
        root.get("ui/admin/storage") { request, context in try await adminPage(request, context) { try await storagePage($0, request: request) } }
    }

    // MARK: refresh tokens

    func tokensPage(_ admin: Admin, request: Request?, account fixed: String? = nil, notice: String? = nil,
                    status: HTTPResponse.Status = .ok) async throws -> Response {
        var admin = admin
        let account = fixed ?? String((request?.uri.queryParameters["account"].map(String.init) ?? "").prefix(256))
        admin.frame.title = "Refresh tokens of \(account)"
        admin.frame.notice = notice
        let tokens = account.isEmpty ? [] : try await admin.accounts.refreshTokens(account: account)
        return render("admin-tokens", AdminTokensPage(frame: admin.frame, owner: account, tokens: tokens.map {
            // The id is a hash of the token; a prefix names it without showing anything usable.
            .init(id: String($0.id.prefix(16)), issued: Formatting.time($0.issued), client: $0.client ?? "-")
        }), status: status)
    }

    func changeTokens(_ admin: Admin, _ form: [String: String]) async throws -> Response {
        let account = (form["account"] ?? "").trimmingCharacters(in: .whitespaces)
        guard form["action"] == "revoke" else { throw AccountError.invalid("unknown action") }
        let id = form["id"].flatMap { $0.isEmpty ? nil : $0 }
        let count = try await admin.accounts.revokeRefreshTokens(account: account, idPrefix: id, by: admin.actor)
        let what = id.map { "token \($0)…" } ?? "\(count) refresh token\(count == 1 ? "" : "s")"
        return try await tokensPage(admin, request: nil, account: account, notice: "Revoked \(what) of \(account).")
    }

    // MARK: webhooks

    func webhooksPage(_ admin: Admin) async -> Response {
        var admin = admin
        admin.frame.title = "Webhooks"
        let states = await api.notifier?.endpointStates() ?? []
        return render("admin-webhooks", AdminWebhooksPage(frame: admin.frame, endpoints: states.map { state in
            .init(name: state.name, url: state.url, queued: state.queuedBatches.map(String.init) ?? "unknown",
                  delivered: state.delivered, failed: state.failedAttempts, dropped: state.dropped + state.trimmed,
                  state: state.queuedBatches == 0 ? "idle" : (state.lastFailureAt ?? .distantPast) > (state.lastDeliveryAt ?? .distantPast) ? "failing" : "delivering",
                  lastError: state.lastFailure.map { "\($0) (\(Formatting.time(state.lastFailureAt!)))" } ?? "",
                  lastDelivery: state.lastDeliveryAt.map(Formatting.time) ?? "")
        }, hasEndpoints: !states.isEmpty))
    }

    // MARK: storage

    func storagePage(_ admin: Admin, request: Request) async throws -> Response {
        var admin = admin
        admin.frame.title = "Storage"
        let refresh = request.uri.queryParameters["refresh"] != nil
        let report = try await storageUsage.report(refresh: refresh) { [store] in
            var rows: [(name: String, blobs: Int, bytes: Int64)] = []
            for name in try await store.catalog(after: nil, limit: 10_000_000).names {
                guard let repository = try? RepositoryName(name) else { continue }
                let usage = try await store.usage(repository)
                rows.append((name, usage.blobs, usage.bytes))
            }
            return rows.sorted { $0.bytes != $1.bytes ? $0.bytes > $1.bytes : $0.name < $1.name }
        }
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

/// The storage page's figures, computed on demand and kept a few minutes: they cost a stat
/// of every blob of every repository.
actor StorageUsageCache {
    struct Report: Sendable {
        var at: Date
        var rows: [(name: String, blobs: Int, bytes: Int64)]
    }
    private var report: Report?
    private let maxAge: TimeInterval = 600

    func report(refresh: Bool, compute: @Sendable () async throws -> [(name: String, blobs: Int, bytes: Int64)]) async throws -> Report {
        if !refresh, let report, Date().timeIntervalSince(report.at) < maxAge { return report }
        let fresh = Report(at: Date(), rows: try await compute())
        report = fresh
        return fresh
    }
}

/// A repository's size and last push for the repository list, kept a minute: the list shows
/// 50 repositories a page, and each costs a stat per blob.
actor RepositoryFactsCache {
    struct Facts: Sendable { var bytes: Int64?; var pushed: Date?; var at: Date }
    private var facts: [String: Facts] = [:]
    private let maxAge: TimeInterval = 60

    func facts(_ repository: RepositoryName, store: RegistryStore) async -> Facts {
        if let known = facts[repository.value], Date().timeIntervalSince(known.at) < maxAge { return known }
        let fresh = Facts(bytes: try? await store.usage(repository).bytes, pushed: await store.lastPush(repository), at: Date())
        if facts.count >= 20_000 { facts.removeAll(keepingCapacity: true) }
        facts[repository.value] = fresh
        return fresh
    }

    func forget(_ repository: String) {
        facts.removeValue(forKey: repository)
    }
}
