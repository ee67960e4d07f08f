import Foundation
import OCI
import Storage

/// What the templates render. Plain stored values (Mustache reads them through `Mirror`,
/// which sees no computed properties); every string is HTML-escaped by `{{…}}` (the
/// templates never use `{{{…}}}`). An optional that is nil hides its section; so does
/// an empty list.
struct PageFrame {
    var title: String
    var base: String
    var signedIn: Bool
    var account: String
    var csrf: String
    var readOnly: Bool
    var deletesOff: Bool
    var isAdmin = false
    /// An open registry has nobody to sign in as.
    var signInOffered = true
    var notice: String?
    var problem: String?
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

struct RepositoryPage {
    struct Row {
        var tag: String
        var digest: String
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

struct ManifestPage {
    struct Entry { var key: String; var value: String }
    struct Platform { var platform: String; var digest: String; var shortDigest: String; var size: String }
    struct Layer { var index: Int; var shortDigest: String; var mediaType: String; var size: String }
    struct Referrer { var artifactType: String; var digest: String; var shortDigest: String; var size: String }
    struct Config {
        var platform: String?
        var created: String?
        var entrypoint: String?
        var cmd: String?
        var workingDir: String?
        var user: String?
        var env: [String]
        var hasEnv: Bool
        var labels: [Entry]
        var hasLabels: Bool
        var history: [String]
        var hasHistory: Bool
    }
    var frame: PageFrame
    var name: String
    var digest: String
    var mediaType: String
    var artifactType: String?
    var tags: String?
    var size: String
    var platforms: [Platform]
    var hasPlatforms: Bool
    var config: Config?
    var layers: [Layer]
    var hasLayers: Bool
    var annotations: [Entry]
    var hasAnnotations: Bool
    var referrers: [Referrer]
    var hasReferrers: Bool
    var deletable: Bool
    var raw: String
}

struct LoginPage {
    var frame: PageFrame
    var error: String?
    var username: String
    var next: String
}

struct ConfirmPage {
    var frame: PageFrame
    var name: String
    var heading: String
    var explanation: String
    var going: [String]
    var hasGoing: Bool
    var tag: String?
    var digest: String?
    /// The form deletes the whole repository.
    var wholeRepository: Bool
    var action: String
}

struct MessagePage {
    var frame: PageFrame
    var heading: String
    var message: String
}

enum Formatting {
    /// The one way the UI writes a moment: `2026-12-05 20:13 UTC` (sortable, the same for
    /// every reader and replica; a `<time datetime>` beside it carries the exact instant).
    static func time(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(format: "%04d-%02d-%02d %02d:%02d UTC", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0)
    }

    /// A time written by a client (an image configuration's `created`: RFC 3339, often with
    /// nanoseconds), in the UI's format; as written when it is not RFC 3339.
    static func instant(_ text: String) -> String {
        let trimmed = text.replacingOccurrences(of: #"\.\d+"#, with: "", options: .regularExpression)
        guard let date = try? Date(trimmed, strategy: .iso8601) else { return text }
        return time(date)
    }

    /// A day, as date inputs take it: `2026-12-05` (UTC).
    static func day(_ date: Date) -> String {
        let c = utc.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    private static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// "1 tag", "2 tags".
    static func count(_ n: Int, _ singular: String, plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func short(_ digest: Digest) -> String { "\(digest.algorithm.rawValue):\(digest.hex.prefix(12))" }

    static func platform(_ p: OCI.Platform) -> String {
        [p.os, p.architecture, p.variant].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: "/")
    }

    /// What an artifact (a signature, an SBOM…) declares itself to be; nil for a plain image.
    static func artifactType(_ manifest: Manifest) -> String? {
        if let artifactType = manifest.artifactType { return artifactType }
        guard manifest.kind == .image, let config = manifest.config?.mediaType else { return nil }
        return imageConfigTypes.contains(config) ? nil : config
    }

    static let imageConfigTypes: Set<String> = [
        "application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json",
    ]

    static func kind(_ mediaType: String) -> String {
        switch mediaType {
        case MediaType.ociIndex, MediaType.dockerManifestList: "index"
        case MediaType.ociManifest, MediaType.dockerManifest: "image"
        default: mediaType
        }
    }
}

struct AdminRulesPage {
    struct Row { var position: Int; var match: String; var actions: String; var comment: String; var expires: String }
    struct Answer { var granted: String; var decidedBy: String }
    /// A rule's fields as the edit form shows them.
    struct Editing {
        var position: Int
        var account = "", name = "", type = "", ip = "", service = "", labels = "", actions = "", comment = "", expires = ""
    }
    var frame: PageFrame
    var rules: [Row]
    var editing: Editing?
    var testAccount: String
    var testRepository: String
    var testActions: String
    var answer: Answer?
}

struct AdminRobotsPage {
    struct Row { var name: String; var login: String; var repositories: String; var actions: String; var expires: String; var lastUsed: String }
    var frame: PageFrame
    var robots: [Row]
    var secret: String?
    var login: String?
    var host: String
}

struct AdminAuditPage {
    struct Row { var at: String; var actor: String; var action: String; var target: String; var address: String; var result: String; var detail: String }
    var frame: PageFrame
    /// Not `account`, which the frame's (the signed-in visitor) would shadow.
    var filterAccount: String
    var action: String
    var entries: [Row]
    /// The link to the next (older) page, when this one is full.
    var olderLink: String?
    /// On a later page, the link back to the newest entries.
    var newestLink: String?
}

struct AdminTokensPage {
    struct Row { var id: String; var issued: String; var client: String }
    var frame: PageFrame
    /// Not `account`: the content renders inside the frame, whose `account` (the signed-in
    /// visitor) would shadow it.
    var owner: String
    var tokens: [Row]
    /// Stored, not computed: templates see stored properties only.
    var hasTokens: Bool

    init(frame: PageFrame, owner: String, tokens: [Row]) {
        self.frame = frame
        self.owner = owner
        self.tokens = tokens
        hasTokens = !tokens.isEmpty
    }
}

struct AdminWebhooksPage {
    struct Row {
        var name: String; var url: String; var queued: String; var delivered: Int; var failed: Int; var dropped: Int
        var state: String; var lastError: String; var lastDelivery: String
    }
    var frame: PageFrame
    var endpoints: [Row]
    var hasEndpoints: Bool
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
