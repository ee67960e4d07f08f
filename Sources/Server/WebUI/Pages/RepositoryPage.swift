import Accounts
import Policies
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
        let parameters = request.uri.queryParameters
        let query = String((parameters["q"].map(String.init) ?? "").prefix(128))
        let byName = parameters["sort"].map(String.init) != "date"
        let showArtifacts = parameters["artifacts"] == "1"
        // Names come from the tag listing (`/v2/…/tags/list`'s); only the shown page's are resolved.
        let all = try await queries.tags(repository).compactMap { try? Tag($0) }
        let attached = AttachedArtifacts(tags: all)
        var tags = all.filter { (showArtifacts || !attached.isArtifactTag($0)) && (query.isEmpty || $0.value.contains(query)) }
        // Push times come from the tag links' modification times (Distribution's layout
        // keeps no other); only sorting by date needs them for every tag.
        var pushedAt: [Tag: Double] = [:]
        if !byName {
            let times = await tags.concurrentMap { [queries] tag in await queries.pushed(repository, tag)?.timeIntervalSince1970 ?? 0 }
            pushedAt = Dictionary(zip(tags, times), uniquingKeysWith: { first, _ in first })
            tags.sort { pushedAt[$0, default: 0] > pushedAt[$1, default: 0] }
        }
        let pages = max(1, (tags.count + Self.tagPageSize - 1) / Self.tagPageSize)
        let page = min(max(1, parameters["page"].flatMap { Int(String($0)) } ?? 1), pages)
        // Referrers are asked of this registry only: a mirror would ask its upstream per line.
        let mirrored = mirrorOf(repository) != nil
        let lines = await Array(tags.dropFirst((page - 1) * Self.tagPageSize).prefix(Self.tagPageSize)).concurrentMap { [self, pushedAt] tag in
            await tagLine(repository, tag, pushed: pushedAt[tag], referrers: !mirrored, attached: attached)
        }
        let immutable = ImmutableTags.covering(accounts?.directory.snapshot.repositoryPolicies ?? [], repository: repository)
        let rows = lines.map { line in
            var row = line.row
            row.immutable = immutable.map { $0.protects(repository, row.tag) } ?? false
            return row
        }
        // What the image says about itself: "latest"'s, else the first line's that says anything.
        let described = lines.first { $0.row.tag == "latest" && $0.about != nil } ?? lines.first { $0.about != nil }
        let about = described.map { RepositoryPage.About(tag: $0.row.tag, $0.about!) }
        let host = configuredHost ?? requestHost(request)
        var pulls: String?
        if let accounts, let counts = try? await accounts.directory.store.pullCounts(since: Date().addingTimeInterval(-29 * 86400),
                                                                                     repository: repository.value) {
            pulls = Formatting.count(counts.reduce(0) { $0 + $1.pulls }, "pull") + " in the last 30 days"
        }
        var pageFrame = frame(repository.value, visitor)
        if let deleted = parameters["deleted"].map(String.init) {
            if deleted.hasPrefix("tag:"), let tag = try? Tag(String(deleted.dropFirst(4))), !all.contains(tag) {
                pageFrame.notice = "Deleted the tag \(tag.value)."
            } else if let digest = try? OCI.Digest(parsing: deleted), (try? await queries.manifest(repository, digest)) == nil {
                pageFrame.notice = "Deleted the manifest \(Formatting.short(digest)) and the tags that pointed at it."
            }
        }
        let sort = byName ? "name" : "date"
        let artifactsFlag = showArtifacts ? "&artifacts=1" : ""
        let q = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let link = { (page: Int) in "?q=\(q)&sort=\(sort)\(artifactsFlag)&page=\(page)" }
        let hidden = showArtifacts ? 0 : all.filter(attached.isArtifactTag).count
        let firstPlain = rows.first { row in (try? Tag(row.tag)).map { !attached.isArtifactTag($0) } ?? false }
        return render("repository", RepositoryPage(
            frame: pageFrame, name: repository.value,
            lastComponent: String(repository.value.split(separator: "/").last ?? ""), host: host,
            firstTag: firstPlain?.tag ?? "latest", hasTags: firstPlain != nil, tlsFlag: reachedSecurely(request) ? "" : " --tls-verify=false",
            mirrorOf: mirrorOf(repository), pulls: pulls, about: about,
            query: query, filtered: query.isEmpty ? nil : query,
            byName: byName, showArtifacts: showArtifacts,
            artifactsToggle: showArtifacts ? "?q=\(q)&sort=\(sort)"
                : hidden > 0 ? "?q=\(q)&sort=\(sort)&artifacts=1" : nil,
            artifactsToggleText: showArtifacts ? "Hide signature, attestation and SBOM tags"
                : "Show \(Formatting.count(hidden, "signature, attestation or SBOM tag", plural: "signature, attestation and SBOM tags"))",
            deletable: await canDelete(visitor, repository.value), repositoryDeletable: !rows.contains(where: \.immutable), tags: rows, total: tags.count,
            totalTags: Formatting.count(tags.count, "tag"), page: page, pages: pages,
            previous: page > 1 ? link(page - 1) : nil, next: page < pages ? link(page + 1) : nil))
    }
}

extension WebUI {
    /// One tag's line: its manifest, summary, push time and what is attached to it.
    func tagLine(_ repository: RepositoryName, _ tag: Tag, pushed known: Double?, referrers lookUp: Bool,
                 attached: AttachedArtifacts) async -> (row: RepositoryPage.Row, about: [String: String]?) {
        // A mirror lists its upstream's tags; one not pulled through here yet has no manifest here.
        guard let digest = try? await queries.resolve(repository, tag),
              let stored = try? await queries.manifest(repository, digest) else {
            return (RepositoryPage.Row(tag: tag.value, digest: nil, shortDigest: "", kind: "not cached yet", platforms: "", size: "-",
                                       pushed: "-", pushedISO: "", badges: []), nil)
        }
        let summary = await summaries.summary(stored, in: repository, queries: queries)
        let referrers = lookUp ? (try? await queries.referrers(repository, of: digest)) ?? [] : []
        let time = if let known { known } else { await queries.pushed(repository, tag)?.timeIntervalSince1970 ?? 0 }
        let date = Date(timeIntervalSince1970: time)
        let row = RepositoryPage.Row(
            tag: tag.value, digest: digest.description, shortDigest: Formatting.short(digest), kind: summary.kind,
            platforms: summary.platforms, size: Formatting.size(summary.size),
            pushed: Formatting.time(date), pushedISO: date.formatted(.iso8601),
            badges: RepositoryPage.Badge.all(attached.artifacts(of: digest, referrers: referrers)))
        return (row, summary.about.isEmpty ? nil : summary.about)
    }
}

/// The signatures, attestations and SBOMs a repository's tags name under cosign's tag
/// scheme, by the image they belong to; referrers are added per image.
struct AttachedArtifacts {
    private var bySubject: [Digest: [SupplyChainArtifact]] = [:]
    private var artifactTags: Set<Tag> = []

    init(tags: [Tag]) {
        for tag in tags {
            guard let (subject, artifact) = SupplyChainArtifact.tagScheme(tag.value) else { continue }
            artifactTags.insert(tag)
            if let artifact { bySubject[subject, default: []].append(artifact) }
        }
    }

    /// Signature, attestation, SBOM and referrers-index tags: hidden from the plain list.
    func isArtifactTag(_ tag: Tag) -> Bool { artifactTags.contains(tag) }

    /// What is attached to the image, each kind and format once, signatures first.
    func artifacts(of image: Digest, referrers: [Descriptor]) -> [SupplyChainArtifact] {
        let found = (bySubject[image] ?? []) + referrers.compactMap { $0.artifactType.flatMap(SupplyChainArtifact.init(artifactType:)) }
        return Array(Set(found)).sorted { ($0.kind, $0.format) < ($1.kind, $1.format) }
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
        var badges: [Badge]
        /// An immutable-tags policy covers it: no delete link.
        var immutable = false
    }
    struct Badge {
        var label: String
        /// `signature`, `attestation` or `sbom`, for the badge's colour.
        var kind: String

        static func all(_ artifacts: [SupplyChainArtifact]) -> [Badge] {
            artifacts.map { Badge(label: $0.label, kind: $0.kind.rawValue) }
        }
    }
    /// What the image says about itself (OCI annotations, or the same keys as labels), as
    /// Docker Hub shows a description.
    struct About {
        struct Fact { var key: String; var value: String; var link: String? }
        var tag: String
        var description: String?
        var facts: [Fact]

        init(tag: String, _ about: [String: String]) {
            self.tag = tag
            description = about["description"]
            facts = ["version", "source", "url", "licenses"].compactMap { key in
                about[key].map { value in
                    // Only web addresses become links (never javascript: or data:).
                    let lower = value.lowercased()
                    let link = lower.hasPrefix("https://") || lower.hasPrefix("http://") ? value : nil
                    return Fact(key: key == "url" ? "Website" : key.prefix(1).uppercased() + key.dropFirst(), value: value, link: link)
                }
            }
        }
    }
    var frame: PageFrame
    var name: String
    var lastComponent: String
    var host: String
    var firstTag: String
    /// No plain tags on the page (the last one deleted): no pull commands to offer.
    var hasTags: Bool
    /// ` --tls-verify=false` for podman and skopeo when the registry is reached over plain HTTP.
    var tlsFlag: String
    var mirrorOf: String?
    /// "12 pulls in the last 30 days" (nil without an accounts database, where they are counted).
    var pulls: String?
    var about: About?
    var query: String
    var filtered: String?
    var byName: Bool
    var showArtifacts: Bool
    /// The link that shows or hides signature, attestation and SBOM tags; nil when there are none.
    var artifactsToggle: String?
    var artifactsToggleText: String
    var deletable: Bool
    /// No immutable tag shown: the repository's delete link is offered.
    var repositoryDeletable = true
    var tags: [Row]
    var total: Int
    var totalTags: String
    var page: Int
    var pages: Int
    /// Query strings of the neighbouring pages, nil at either end.
    var previous: String?
    var next: String?
}
