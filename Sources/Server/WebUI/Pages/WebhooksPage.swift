import Accounts
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import OCI
import Storage

/// Webhook endpoints and how their deliveries go.
extension WebUI {
    func registerWebhooks(on pages: RouterGroup<BerthRequestContext>) {
        pages.get("ui/admin/webhooks") { request, context in try await adminPage(request, context) { await webhooksPage($0) } }
    }

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
