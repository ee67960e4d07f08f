import Accounts
import Foundation
import HTTPTypes
import Hummingbird

/// Pulls per repository and day: what the audit log keeps of pulls (counts, not entries).
extension WebUI {
    func registerPulls(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/pulls") { request, context in try await adminPage(request, context) { try await pullsPage($0, request: request) } }
    }

    static let pullRowsShown = 1_000

    func pullsPage(_ admin: Admin, request: Request) async throws -> Response {
        var frame = admin.frame
        frame.title = "Pulls"
        let repository = String((request.uri.queryParameters["repository"].map(String.init) ?? "").prefix(256))
        let days = min(max(request.uri.queryParameters["days"].flatMap { Int(String($0)) } ?? 30, 1), 366)
        let since = Date().addingTimeInterval(-Double(days - 1) * 86400)
        let store = admin.directory.store
        let counts = try await store.pullCounts(since: since, repository: repository.isEmpty ? nil : repository, limit: Self.pullRowsShown)
        let totals = try await store.pullTotals(since: since, repository: repository.isEmpty ? nil : repository)
        return render("admin-pulls", AdminPullsPage(frame: frame, filterRepository: repository, days: days, counts: counts, totals: totals,
                                                    cut: counts.count == Self.pullRowsShown))
    }
}

struct AdminPullsPage {
    struct Total { var repository: String; var pulls: Int }
    struct Row { var day: String; var repository: String; var pulls: Int }
    var frame: PageFrame
    var filterRepository: String
    var days: Int
    /// Most pulled first, over the whole period.
    var totals: [Total]
    var rows: [Row]
    var hasRows: Bool
    var summary: String
    /// "Showing the newest 1,000 day rows" when the per-day list was cut (the totals never are).
    var cutNote: String?

    init(frame: PageFrame, filterRepository: String, days: Int, counts: [PullCount],
         totals: (top: [(repository: String, pulls: Int)], pulls: Int, repositories: Int), cut: Bool = false) {
        self.frame = frame
        self.filterRepository = filterRepository
        self.days = days
        self.totals = totals.top.map { Total(repository: $0.repository, pulls: $0.pulls) }
        rows = counts.map { Row(day: $0.day, repository: $0.repository, pulls: $0.pulls) }
        hasRows = !rows.isEmpty
        summary = Formatting.count(totals.pulls, "pull") + " of " + Formatting.count(totals.repositories, "repository", plural: "repositories")
            + " in the last " + Formatting.count(days, "day")
        cutNote = cut ? "Per day: the newest \(counts.count) rows (filter by repository for the rest); the totals count every row." : nil
    }
}
