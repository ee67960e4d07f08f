import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// A signed-in visitor's start: how to log in with docker, the repositories they may push
/// to, the latest pushes they may see; for administrators, where the storage goes.
extension WebUI {
    func registerHome(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/home") { request, context in try await homePage(request, context) }
    }

    static let homeListSize = 12
    /// Above this many repositories, the home page does not compute the storage report itself
    /// (a stat of every blob): the Storage page does, on demand.
    static let homeStorageLimit = 2_000

    func homePage(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let visitor = context.visitor ?? .nobody
        guard visitor.session != nil, let identity = visitor.identity else {
            return redirect(base + "/ui/login?next=" + base + "/ui/home")
        }
        let names = try await queries.repositories()
        // The audit log's pushes, newest first (shown below: those of repositories this visitor may see).
        let recentPushes = try await accounts?.audit(limit: 200, account: nil, action: "manifest.push", before: nil) ?? []
        func pushedRepository(_ entry: AuditEntry) -> String { String(entry.target.prefix { $0 != ":" && $0 != "@" }) }
        var order = names
        if access.decidesOutOfProcess {
            // A program per decision is asked about a bounded number of names: the recently
            // pushed ones first, so the page's recent pushes are complete.
            let existing = Set(names)
            var recent: [String] = []
            var seen = Set<String>()
            for name in recentPushes.map(pushedRepository) where existing.contains(name) && seen.insert(name).inserted { recent.append(name) }
            order = recent + names.filter { !seen.contains($0) }
        }
        let asked = namesToAsk(order, order: "(recently pushed, then by name)")
        let rights = await askEach(asked.names) { [self] name -> (name: String, push: Bool, pull: Bool) in
            let granted = await access.granted(identity, repository: name, ["pull", "push"], address: visitor.address)
            // Its own grant answered already; only the anonymous visitors' rules are left to ask.
            let pull = granted.contains("pull") ? true : await anonymousMayPull(visitor, name)
            return (name, granted.contains("push"), pull)
        }
        let pushable = rights.filter(\.push).map(\.name)
        let pullable = Set(rights.filter(\.pull).map(\.name))
        var pushes: [HomePage.Push] = []
        if accounts != nil {
            for entry in recentPushes {
                let repository = pushedRepository(entry)
                guard pullable.contains(repository) else { continue }
                pushes.append(.init(reference: entry.target, repository: repository, by: entry.actor, at: Formatting.time(entry.at),
                                    atISO: entry.at.formatted(.iso8601)))
                if pushes.count == Self.homeListSize { break }
            }
        }
        var storage: HomePage.Storage?
        if visitor.isAdmin {
            let report = names.count <= Self.homeStorageLimit ? try? await storageReport(refresh: false) : await storageUsage.fresh
            storage = report.map(HomePage.Storage.init)
        }
        var frame = frame("Home", visitor)
        frame.notice = asked.notice
        frame.isAdmin = visitor.isAdmin
        return render("home", HomePage(
            frame: frame, host: configuredHost ?? requestHost(request), tlsFlag: reachedSecurely(request) ? "" : " --tls-verify=false",
            pushable: pushable.prefix(Self.homeListSize).map { .init(name: $0) },
            morePushable: pushable.count > Self.homeListSize ? "and \(pushable.count - Self.homeListSize) more" : nil,
            // Counted among the names asked: with a bound (see the notice), at least that many.
            pushableSummary: (asked.notice == nil ? "" : "at least ") + Formatting.count(pushable.count, "repository", plural: "repositories"),
            pullableSummary: (asked.notice == nil ? "" : "at least ") + Formatting.count(pullable.count, "repository", plural: "repositories"),
            pushes: pushes, hasPushes: !pushes.isEmpty, auditKept: accounts != nil,
            storage: storage, storageDeferred: visitor.isAdmin && storage == nil))
    }
}

struct HomePage {
    struct Repository { var name: String }
    struct Push { var reference: String; var repository: String; var by: String; var at: String; var atISO: String }
    struct Storage {
        struct Line { var name: String; var size: String }
        var computedAt: String
        var total: String
        var namespaces: [Line]
        var largest: [Line]
        var abandoned: String?

        init(_ report: StorageUsageCache.Report) {
            computedAt = Formatting.time(report.at)
            total = Formatting.size(report.rows.reduce(Int64(0)) { $0 + $1.bytes })
            namespaces = report.namespaces.prefix(8).map { Line(name: $0.name, size: Formatting.size($0.bytes)) }
            largest = report.rows.prefix(8).map { Line(name: $0.name, size: Formatting.size($0.bytes)) }
            abandoned = report.abandonedUploads == 0 ? nil
                : Formatting.count(report.abandonedUploads, "upload") + " unfinished for over a day, "
                    + Formatting.size(report.abandonedBytes) + ": berth gc --purge-uploads removes them"
        }
    }
    var frame: PageFrame
    var host: String
    var tlsFlag: String
    var pushable: [Repository]
    var morePushable: String?
    var pushableSummary: String
    var pullableSummary: String
    var pushes: [Push]
    var hasPushes: Bool
    /// Whether recent pushes can be known (the accounts database keeps the audit log).
    var auditKept: Bool
    var storage: Storage?
    /// An administrator on a registry too large to compute the storage here.
    var storageDeferred: Bool
}
