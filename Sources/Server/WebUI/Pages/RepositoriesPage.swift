import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// The list of repositories a visitor may pull, filtered and paged, with sizes and last pushes.
extension WebUI {
    func registerRepositories(on pages: RouterGroup<BerthRequestContext>) {
        // Hummingbird's router treats `ui` and `ui/` as one path.
        pages.get("ui") { request, context in try await repositories(request, context) }
    }

    func repositories(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let visitor = context.visitor ?? .nobody
        if visitor.identity == nil { return redirect(base + "/ui/login") }
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").prefix(256))
        let needle = query.lowercased()
        // The catalog's index (kept current with other writers), not a walk of the layout.
        let catalog = try await queries.repositories()
        let asked = namesToAsk(catalog.filter { needle.isEmpty || $0.contains(needle) })
        let visible = await askEach(asked.names) { [self] name in await canPull(visitor, name) ? name : nil }.compactMap { $0 }
        let pages = max(1, (visible.count + Self.pageSize - 1) / Self.pageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        let names = visible.dropFirst((page - 1) * Self.pageSize).prefix(Self.pageSize).compactMap { try? RepositoryName($0) }
        let rows = await names.concurrentMap { [self] repository in
            // A mirrored repository counts the tags held here: asking its upstream for each
            // line of the list would make the page as slow as the slowest upstream.
            let count = mirrorOf(repository) == nil ? (try? await queries.tags(repository).count) ?? 0
                : (try? await queries.tagTargets(repository).count) ?? 0
            let facts = await repositoryFacts.facts(repository, queries: queries)
            let pushed = facts.pushed
            return RepositoriesPage.Row(name: repository.value, tags: count, size: facts.bytes.map(Formatting.size) ?? "-",
                                        pushed: pushed.map(Formatting.time) ?? "-", pushedISO: pushed?.formatted(.iso8601) ?? "",
                                        mirrorOf: mirrorOf(repository))
        }
        var notices = [asked.notice].compactMap { $0 }
        // The confirmation after a repository delete (only for a name that is really gone).
        if let deleted = request.uri.queryParameters["deleted"].map(String.init), let name = try? RepositoryName(deleted),
           !catalog.contains(name.value) {
            notices.insert("Deleted the repository \(name.value).", at: 0)
        }
        var pageFrame = frame("Repositories", visitor)
        pageFrame.notice = notices.isEmpty ? nil : notices.joined(separator: " ")
        return render("repositories", RepositoriesPage(frame: pageFrame, query: query, repositories: rows,
                                                         total: visible.count, page: page, pages: pages))
    }
}

struct RepositoriesPage {
    struct Row { var name: String; var tags: Int; var size: String; var pushed: String; var pushedISO: String; var mirrorOf: String? }
    var frame: PageFrame
    var query: String
    var filtered: String?
    var repositories: [Row]
    var hasRepositories: Bool
    var total: Int
    var one: Bool
    var page: Int
    var pages: Int
    /// Query strings of the neighbouring pages, nil at either end.
    var previous: String?
    var next: String?

    init(frame: PageFrame, query: String, repositories: [Row], total: Int, page: Int, pages: Int) {
        self.frame = frame
        self.query = query
        filtered = query.isEmpty ? nil : query
        self.repositories = repositories
        hasRepositories = !repositories.isEmpty
        self.total = total
        one = total == 1
        self.page = page
        self.pages = pages
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        previous = page > 1 ? "?q=\(q)&page=\(page - 1)" : nil
        next = page < pages ? "?q=\(q)&page=\(page + 1)" : nil
    }
}

/// A repository's size and last push for the repository list, kept a minute: the list shows
/// 50 repositories a page, and each costs a stat per blob.
actor RepositoryFactsCache {
    struct Facts: Sendable { var bytes: Int64?; var pushed: Date?; var at: Date }
    private var facts: [String: Facts] = [:]
    private let maxAge: TimeInterval = 60

    func facts(_ repository: RepositoryName, queries: RegistryQueries) async -> Facts {
        if let known = facts[repository.value], Date().timeIntervalSince(known.at) < maxAge { return known }
        let fresh = Facts(bytes: try? await queries.usage(repository).bytes, pushed: await queries.lastPush(repository), at: Date())
        if facts.count >= 20_000 { facts.removeAll(keepingCapacity: true) }
        facts[repository.value] = fresh
        return fresh
    }

    func forget(_ repository: String) {
        facts.removeValue(forKey: repository)
    }
}
