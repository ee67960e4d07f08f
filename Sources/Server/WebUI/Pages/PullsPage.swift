import Accounts
import Foundation
import HTTPTypes
import Hummingbird

/// Pulls per repository and day: what the audit log keeps of pulls (counts, not entries).
extension WebUI {
    func registerPulls(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/pulls") { request, context in try await adminPage(request, context) { try await pullsPage($0, request: request) } }
    }

    func pullsPage(_ admin: Admin, request: Request) async throws -> Response {
        var frame = admin.frame
        frame.title = "Pulls"
        let repository = String((request.uri.queryParameters["repository"].map(String.init) ?? "").prefix(256))
        let days = min(max(request.uri.queryParameters["days"].flatMap { Int(String($0)) } ?? 30, 1), 366)
        let counts = try await admin.directory.store.pullCounts(since: Date().addingTimeInterval(-Double(days - 1) * 86400),
                                                               repository: repository.isEmpty ? nil : repository)
        return render("admin-pulls", AdminPullsPage(frame: frame, filterRepository: repository, days: days, counts: counts))
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

    init(frame: PageFrame, filterRepository: String, days: Int, counts: [PullCount]) {
        self.frame = frame
        self.filterRepository = filterRepository
        self.days = days
        var byRepository: [String: Int] = [:]
        for count in counts { byRepository[count.repository, default: 0] += count.pulls }
        totals = byRepository.map { Total(repository: $0.key, pulls: $0.value) }
            .sorted { $0.pulls != $1.pulls ? $0.pulls > $1.pulls : $0.repository < $1.repository }
            .prefix(20).map { $0 }
        rows = counts.map { Row(day: $0.day, repository: $0.repository, pulls: $0.pulls) }
        hasRows = !rows.isEmpty
        let total = counts.reduce(0) { $0 + $1.pulls }
        summary = Formatting.count(total, "pull") + " of " + Formatting.count(byRepository.count, "repository", plural: "repositories")
            + " in the last " + Formatting.count(days, "day")
    }
}
