import Accounts
import Hummingbird
import Logging
import Policies
import ServiceLifecycle
import Storage

/// A capability of `berth serve`: the routes it adds under the server's prefix and the
/// services it runs beside the server. The server is the list of its features, composed in
/// one place (`BerthServer.makeFeatures`, in the Assembly target); a new capability is one more value there.
package protocol BerthFeature: Sendable {
    func register(on root: RouterGroup<BerthRequestContext>)
    /// What it runs beside the server (queues, schedules, pollers); none by default.
    var services: [any Service] { get }
}

extension BerthFeature {
    package func register(on root: RouterGroup<BerthRequestContext>) {}
    package var services: [any Service] { [] }
}

/// A service with no routes of its own (the notifier's queue, a schedule).
package struct BackgroundFeature: BerthFeature {
    package let services: [any Service]

    package init(_ service: any Service) { services = [service] }
}

/// `/livez` and `/readyz`: ready while the storage can be read and written.
package struct HealthFeature: BerthFeature {
    let store: RegistryStore
    /// What an operator must know about this server, shown whether or not it is ready.
    let warnings: [String]

    package init(store: RegistryStore, warnings: [String]) {
        self.store = store
        self.warnings = warnings
    }

    package func register(on root: RouterGroup<BerthRequestContext>) {
        let store = self.store
        root.addHealth(warnings: warnings) { logger in
            do {
                try await store.checkReadable()
            } catch {
                logger.error("readiness check failed", metadata: ["error": .string(String(describing: error))])
                return "the storage cannot be read: \(error)"
            }
            if !store.options.readOnly, let problem = await store.driver.writeProblem() {
                logger.error("readiness check failed", metadata: ["error": .string(problem.description)])
                return problem.description + "; pushes fail until it is fixed"
            }
            return nil
        }
    }
}

/// The Docker token protocol, when Berth is the token server.
package struct TokenEndpointFeature: BerthFeature {
    let endpoint: TokenEndpoint

    package init(endpoint: TokenEndpoint) { self.endpoint = endpoint }

    package func register(on root: RouterGroup<BerthRequestContext>) { root.addTokenEndpoint(endpoint) }
}

/// `/berth/api/v1`: its OpenAPI description, repository deletion (checked per repository by
/// the registry's door, not reserved to administrators) and, with accounts, the admin API
/// behind its own door.
package struct AdminFeature: BerthFeature {
    let api: RegistryAPI
    let directory: AccountDirectory?
    let admin: AdminAPI?
    let adminDoor: AdminAccessMiddleware?

    package init(api: RegistryAPI, directory: AccountDirectory?, admin: AdminAPI?, adminDoor: AdminAccessMiddleware?) {
        self.api = api
        self.directory = directory
        self.admin = admin
        self.adminDoor = adminDoor
    }

    package func register(on root: RouterGroup<BerthRequestContext>) {
        let group = root.group(RouterPath(String(AdminAPI.basePath.dropFirst()))).add(middleware: RouteLabelMiddleware("admin"))
        group.get("openapi.yaml") { _, _ in AdminAPI.openAPIResponse() }
        RepositoryDeletion(api: api, directory: directory).register(on: group)
        if let admin, let adminDoor { admin.register(on: group.group().add(middleware: adminDoor)) }
    }
}

/// The web UI's pages and assets.
package struct WebUIFeature: BerthFeature {
    let ui: WebUI

    package init(ui: WebUI) { self.ui = ui }

    package func register(on root: RouterGroup<BerthRequestContext>) { ui.register(on: root.labelled("web_ui")) }
}

/// `/v2/`: the distribution API, each request's endpoint parsed once, renamed for a mirror's
/// namespace, admitted by the registry's door.
package struct RegistryFeature: BerthFeature {
    let api: RegistryAPI
    /// containerd's `ns` values → repository prefixes of mirrored upstreams.
    let mirrorNamespaces: [String: String]
    let prefix: String

    package init(api: RegistryAPI, mirrorNamespaces: [String: String], prefix: String) {
        self.api = api
        self.mirrorNamespaces = mirrorNamespaces
        self.prefix = prefix
    }

    package func register(on root: RouterGroup<BerthRequestContext>) {
        var registry = root.group("v2").add(middleware: RegistryRouteMiddleware(prefix: prefix))
        if !mirrorNamespaces.isEmpty { registry = registry.add(middleware: MirrorNamespaceMiddleware(prefixes: mirrorNamespaces)) }
        registry = registry.add(middleware: RegistryAccessMiddleware(api: api))
        let api = self.api
        for method in BerthRouter.allMethods {
            registry.on("", method: method) { request, context in try await api.handle(request, context) }
            registry.on("**", method: method) { request, context in try await api.handle(request, context) }
        }
    }
}
