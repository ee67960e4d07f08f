import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// A repository: its tags (paged, sorted by name or push), copy-ready pull commands.
extension WebUI {
    /// A repository's page, an image's (`…/_manifest/DIGEST`) and a delete's confirmation
    /// (`…/_delete`) share the path space of repository names.
    func registerRepository(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/repo/**") { request, context in try await repositoryOrManifest(request, context) }
    }

    func repositoryOrManifest(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let visitor = context.visitor ?? .nobody
        let path = String(request.uri.path.dropFirst((base + "/ui/repo/").count))
        // `_manifest` and `_delete` cannot be parts of a repository name (no component may
        // begin with `_`), so they never clash with one.
        var name = path
        var digest: OCI.Digest?
        var confirmDelete = false
        if let marker = path.range(of: "/_manifest/") {
            name = String(path[..<marker.lowerBound])
            digest = try? OCI.Digest(parsing: path[marker.upperBound...])
            if digest == nil { return notFound(visitor) }
        } else if path.hasSuffix("/_delete") {
            name = String(path.dropLast("/_delete".count))
            confirmDelete = true
        }
        guard let repository = try? RepositoryName(PercentDecoding.decode(name)) else { return notFound(visitor) }
        if visitor.identity == nil {
            return redirect(base + "/ui/login?next=" + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        }
        // Not allowed and not there look the same: names are not disclosed.
        guard await canPull(visitor, repository.value), try await queries.exists(repository) else { return notFound(visitor) }
        if confirmDelete { return try await confirmDeletion(repository, request, visitor) }
        if let digest { return try await manifestPage(repository, digest, visitor) }
        return try await repositoryPage(repository, request, visitor)
    }

    func repositoryPage(_ repository: RepositoryName, _ request: Request, _ visitor: Visitor) async throws -> Response {
        let query = String((request.uri.queryParameters["q"].map(String.init) ?? "").prefix(128))
        let byName = request.uri.queryParameters["sort"].map(String.init) != "date"
        // Names come from the tag listing (`/v2/…/tags/list`'s); only the shown page's are resolved.
        var tags = try await queries.tags(repository).filter { query.isEmpty || $0.contains(query) }.compactMap { try? Tag($0) }
        // Push times come from the tag links' modification times (Distribution's layout
        // keeps no other); only sorting by date needs them for every tag.
        var pushedAt: [Tag: Double] = [:]
        func pushed(_ tag: Tag) async -> Double {
            if let known = pushedAt[tag] { return known }
            let time = await queries.pushed(repository, tag)?.timeIntervalSince1970 ?? 0
            pushedAt[tag] = time
            return time
        }
        if !byName {
            for tag in tags { _ = await pushed(tag) }
            tags.sort { pushedAt[$0, default: 0] > pushedAt[$1, default: 0] }
        }
        let pages = max(1, (tags.count + Self.tagPageSize - 1) / Self.tagPageSize)
        let page = min(max(1, request.uri.queryParameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        var rows: [RepositoryPage.Row] = []
        for tag in tags.dropFirst((page - 1) * Self.tagPageSize).prefix(Self.tagPageSize) {
            // A mirror lists its upstream's tags; one not pulled through here yet has no manifest here.
            guard let digest = try? await queries.resolve(repository, tag),
                  let stored = try? await queries.manifest(repository, digest) else {
                rows.append(RepositoryPage.Row(tag: tag.value, digest: nil, shortDigest: "", kind: "not cached yet", platforms: "", size: "-",
                                               pushed: "-", pushedISO: ""))
                continue
            }
            let summary = await summaries.summary(stored, in: repository, queries: queries)
            let date = Date(timeIntervalSince1970: await pushed(tag))
            rows.append(RepositoryPage.Row(
                tag: tag.value, digest: digest.description, shortDigest: Formatting.short(digest), kind: summary.kind,
                platforms: summary.platforms, size: Formatting.size(summary.size),
                pushed: Formatting.time(date), pushedISO: date.formatted(.iso8601)))
        }
        let host = configuredHost ?? requestHost(request)
        let sort = byName ? "name" : "date"
        let link = { (page: Int) in "?q=\(query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")&sort=\(sort)&page=\(page)" }
        return render("repository", RepositoryPage(
            frame: frame(repository.value, visitor), name: repository.value,
            lastComponent: String(repository.value.split(separator: "/").last ?? ""), host: host,
            firstTag: rows.first?.tag ?? "latest", hasTags: !tags.isEmpty, tlsFlag: reachedSecurely(request) ? "" : " --tls-verify=false",
            mirrorOf: mirrorOf(repository), query: query, filtered: query.isEmpty ? nil : query,
            byName: byName, deletable: await canDelete(visitor, repository.value), tags: rows, total: tags.count, totalTags: tags.count == 1 ? "1 tag" : "\(tags.count) tags", page: page, pages: pages,
            previous: page > 1 ? link(page - 1) : nil, next: page < pages ? link(page + 1) : nil))
    }
}

struct RepositoryPage {
    struct Row {
        var tag: String
        /// nil: a mirrored tag not pulled through here yet.
        var digest: String?
        var shortDigest: String
        var kind: String
        var platforms: String
        var size: String
        var pushed: String
        var pushedISO: String
    }
    var frame: PageFrame
    var name: String
    var lastComponent: String
    var host: String
    var firstTag: String
    /// No tags (the last one deleted): no pull commands to offer.
    var hasTags: Bool
    /// ` --tls-verify=false` for podman and skopeo when the registry is reached over plain HTTP.
    var tlsFlag: String
    var mirrorOf: String?
    var query: String
    var filtered: String?
    var byName: Bool
    var deletable: Bool
    var tags: [Row]
    var total: Int
    var totalTags: String
    var page: Int
    var pages: Int
    /// Query strings of the neighbouring pages, nil at either end.
    var previous: String?
    var next: String?
}
