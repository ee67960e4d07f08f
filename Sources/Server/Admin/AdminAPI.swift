import Accounts
import Policies
import Auth
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OCI
import Storage

/// The admin HTTP API under `/berth/api/v1/` (a path the registry API cannot use): accounts,
/// rules, robots, the audit log and "who may do what", for callers the access policy grants
/// `registry:admin:*`. Every change applies to this node's next request at once, and to
/// replicas sharing the database at their next poll.
package struct AdminAPI: Sendable {
    static let basePath = "/berth/api/v1"
    let accounts: AccountAdministration
    let service: TokenService
    let retention: RetentionRunner
    let quotaUsage: NamespaceUsage?

    package init(accounts: AccountAdministration, service: TokenService, retention: RetentionRunner, quotaUsage: NamespaceUsage?) {
        self.accounts = accounts
        self.service = service
        self.retention = retention
        self.quotaUsage = quotaUsage
    }
    var directory: AccountDirectory { accounts.directory }

    func register(on group: RouterGroup<BerthRequestContext>) {
        group.get("users") { _, _ in try json(try await accounts.users().map(UserView.init)) }
        group.post("users") { request, context in try await addUser(request, context) }
        group.get("users/:name") { _, context in
            let name = try accountName(context)
            guard let user = try await accounts.user(name) else { throw AccountError.notFound("no user \(name)") }
            return try json(UserView(user))
        }
        group.patch("users/:name") { request, context in try await changeUser(request, context) }
        group.delete("users/:name") { _, context in
            try await accounts.removeUser(try accountName(context), by: context.auditActor)
            return changed()
        }
        group.post("users/:name/unlock") { _, context in
            try await accounts.unlock(try accountName(context), by: context.auditActor)
            return changed()
        }
        group.get("users/:name/tokens") { _, context in
            try json(try await accounts.refreshTokens(account: try accountName(context)))
        }
        group.delete("users/:name/tokens") { _, context in
            let revoked = try await accounts.revokeRefreshTokens(account: try accountName(context), by: context.auditActor)
            return try json(["revoked": revoked])
        }
        group.delete("users/:name/tokens/:id") { _, context in
            let revoked = try await accounts.revokeRefreshTokens(account: try accountName(context),
                                                              idPrefix: try context.parameters.require("id"), by: context.auditActor)
            return try json(["revoked": revoked])
        }
        group.get("access-tokens") { request, _ in
            try json(try await accounts.accessTokens(account: request.uri.queryParameters["account"].map(String.init)))
        }
        group.get("users/:name/access-tokens") { _, context in
            try json(try await accounts.accessTokens(account: try accountName(context)))
        }
        group.post("users/:name/access-tokens") { request, context in
            let body = try await decode(AdminBody.NewAccessToken.self, request, context)
            return try json(try await accounts.createAccessToken(
                account: try accountName(context), name: body.name, scopes: try AccessTokenRecord.scopes(parsing: body.scopes ?? []),
                expiresAt: body.expires, labels: nil, by: context.auditActor), status: .created)
        }
        group.delete("users/:name/access-tokens/:token") { _, context in
            try json(try await accounts.revokeAccessToken(account: try accountName(context), token: PercentDecoding.decode(try context.parameters.require("token")),
                                                       by: context.auditActor))
        }
        group.get("policies") { _, _ in try json(try await accounts.repositoryPolicies()) }
        group.get("policies/quotas") { _, _ in
            guard let quotaUsage else { throw AccountError.invalid("quotas are not measured by this server") }
            return try json(await QuotaUsage.report(try await accounts.repositoryPolicies(), usage: quotaUsage))
        }
        group.post("policies") { request, context in
            let body = try await decode(AdminBody.NewPolicy.self, request, context)
            return try json(try await PolicyKinds.add(kind: body.kind, spec: body.spec, comment: body.comment, to: accounts,
                                                       by: context.auditActor), status: .created)
        }
        group.post("policies/retention/run") { request, context in
            struct Body: Decodable { var dryRun: Bool? }
            let body = try await decode(Body.self, request, context)
            return try json(try await retention.run(dryRun: body.dryRun ?? false))
        }
        group.delete("policies/:kind/:which") { _, context in
            try json(try await accounts.removeRepositoryPolicy(kind: try context.parameters.require("kind"),
                                                            PercentDecoding.decode(try context.parameters.require("which")), by: context.auditActor))
        }
        group.get("rules") { _, _ in try json(try await accounts.rules().map(RuleView.init)) }
        group.post("rules") { request, context in
            let body = try await decode(AdminBody.NewRule.self, request, context)
            let record = try await accounts.addRule(ACLRule(match: body.match, actions: body.actions, comment: body.comment),
                                                 at: body.position, expiresAt: body.expires, by: context.auditActor)
            return try json(RuleView(record), status: .created)
        }
        group.put("rules/:position") { request, context in
            let position = try context.parameters.require("position", as: Int.self)
            let body = try await decode(AdminBody.NewRule.self, request, context)
            try await accounts.replaceRule(at: position, with: ACLRule(match: body.match, actions: body.actions, comment: body.comment),
                                        expiresAt: body.expires, by: context.auditActor)
            return changed()
        }
        group.delete("rules/:position") { _, context in
            try await accounts.removeRule(at: try context.parameters.require("position", as: Int.self), by: context.auditActor)
            return changed()
        }
        group.post("rules/:position/move") { request, context in
            let body = try await decode(AdminBody.Move.self, request, context)
            try await accounts.moveRule(from: try context.parameters.require("position", as: Int.self), to: body.to, by: context.auditActor)
            return changed()
        }
        group.post("access-test") { request, context in try await accessTest(request, context) }
        group.get("robots") { _, _ in try json(try await accounts.robots().map(RobotView.init)) }
        group.post("robots") { request, context in
            let body = try await decode(AdminBody.NewRobot.self, request, context)
            let (record, secret) = try await accounts.addRobot(body.name, repositories: body.repositories, actions: body.actions,
                                                            description: body.description, expiresAt: body.expires, by: context.auditActor)
            return try json(RobotCreated(robot: RobotView(record), secret: secret), status: .created)
        }
        group.post("robots/:name/rotate") { _, context in
            let name = try accountName(context)
            let secret = try await accounts.rotateRobot(name, by: context.auditActor)
            guard let record = try await accounts.robots().first(where: { $0.name == name }) else { throw AccountError.notFound("no robot \(name)") }
            return try json(RobotCreated(robot: RobotView(record), secret: secret))
        }
        group.delete("robots/:name") { _, context in
            try await accounts.removeRobot(try accountName(context), by: context.auditActor)
            return changed()
        }
        group.get("pulls") { request, _ in
            let query = request.uri.queryParameters
            let days = min(max(query["days"].flatMap { Int(String($0)) } ?? 30, 1), 3660)
            return try json(try await directory.store.pullCounts(since: Date().addingTimeInterval(-Double(days - 1) * 86400),
                                                                 repository: query["repository"].map(String.init)))
        }
        group.get("audit") { request, _ in
            let query = request.uri.queryParameters
            let limit = query["limit"].flatMap { Int(String($0)) } ?? 100
            var before: AuditCursor?
            if let text = query["before"] {
                guard let cursor = AuditCursor(String(text)) else { throw AccountError.invalid("before: a cursor <milliseconds>-<id>, as the last entry of a page gives") }
                before = cursor
            }
            return try json(try await accounts.audit(limit: limit, account: query["account"].map { AccountName.canonical(String($0)) },
                                                  action: query["action"].map(String.init), before: before))
        }
    }

    private func addUser(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let body = try await decode(AdminBody.NewUser.self, request, context)
        var hash = body.passwordHash
        if let password = body.password { hash = try await AccountStore.hashPassword(password) }
        try await accounts.addUser(body.name, passwordHash: hash, labels: body.labels ?? [:], expiresAt: body.expires, by: context.auditActor)
        guard let user = try await accounts.user(body.name) else { throw AccountError.notFound("no user \(body.name)") }
        return try json(UserView(user), status: .created)
    }

    private func changeUser(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let name = try accountName(context)
        let body = try await decode(AdminBody.UserChange.self, request, context)
        var hash = body.passwordHash
        if let password = body.password { hash = try await AccountStore.hashPassword(password) }
        try await accounts.updateUser(name, passwordHash: hash, labels: body.labels, disabled: body.disabled,
                                   expiry: body.expires != nil || body.clearExpiry ? .some(body.expires) : nil, by: context.auditActor)
        guard let user = try await accounts.user(name) else { throw AccountError.notFound("no user \(name)") }
        return try json(UserView(user))
    }

    private func accessTest(_ request: Request, _ context: BerthRequestContext) async throws -> Response {
        let body = try await decode(AdminBody.AccessTest.self, request, context)
        var labels = body.labels ?? [:]
        if body.labels == nil, let identity = try? await directory.lookup(user: body.account) { labels = identity.labels }
        let decision = try await service.policy.decide(AccessRequest(
            account: body.account, labels: labels, type: body.type ?? "repository", name: body.repository,
            service: body.service ?? "", actions: body.actions))
        let snapshot = directory.snapshot
        var status = snapshot.refusal(of: body.account)
        // currentIdentity stands in for accounts no backend can be asked about (LDAP, a
        // program): only an account every backend denies knowing is unknown.
        if status == nil, !body.account.isEmpty, !snapshot.knows(body.account) {
            // A backend that refuses to answer (disabled elsewhere, down) knows it.
            var known = true
            do { known = try await service.currentIdentity(AccountName.canonical(body.account)) != nil } catch {}
            if !known { status = "unknown account" }
        }
        let granted = status == nil ? decision?.actions ?? [] : []
        return try json(AdminBody.AccessTestResult(granted: granted, decision: decision, accountStatus: status))
    }

    /// The `name` of the path, percent-decoded (clients escape names that are not plain
    /// ASCII), in the one form account names have (NFC).
    private func accountName(_ context: BerthRequestContext) throws -> String {
        AccountName.canonical(PercentDecoding.decode(try context.parameters.require("name")))
    }

    private func changed() -> Response {
        Response(status: .noContent)
    }

    private func decode<T: Decodable>(_ type: T.Type, _ request: Request, _ context: BerthRequestContext) async throws -> T {
        let body = try await request.body.collect(upTo: 64 * 1024)
        if let key = DuplicateJSONKeys.first(in: Array(buffer: body)) {
            throw AccountError.invalid("the request body gives \(key.prefix(64)) more than once")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(T.self, from: Data(buffer: body))
        } catch {
            throw AccountError.invalid("the request body is not the expected JSON: \(Self.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "\(key.stringValue) is required"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c), DecodingError.dataCorrupted(let c):
            "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        default: "invalid JSON"
        }
    }
}

/// Admin responses are never cached (they may name accounts or carry a robot's secret).
func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    headers[.cacheControl] = "no-store"
    return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

extension BerthRequestContext {
    /// The caller for the audit log: the authenticated account and the client address.
    var auditActor: AuditActor { AuditActor(caller ?? "(anonymous)", address: clientAddress.map { "\($0)" }) }
}

extension AdminAPI {
    /// The API's description, `Admin/openapi.yaml`, compiled into the binary.
    static func openAPIResponse() -> Response {
        Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8", .cacheControl: "public, max-age=3600"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
    }
}
