import Accounts
import AsyncHTTPClient
import Auth
import Policies
import Foundation
import NIOCore
import NIOHTTP1

/// The account commands against a running Berth (`--registry URL`), through its admin API
/// with the caller's credentials; the server records the caller in the audit log.
struct RemoteAccounts: AccountsManager {
    let base: String
    let authorization: String
    /// Whom the admin API knows the caller as.
    let username: String

    init(registry: String, username: String, password: String) {
        self.username = username
        var base = registry.hasPrefix("http://") || registry.hasPrefix("https://") ? registry : "http://" + registry
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base + "/berth/api/v1"
        authorization = "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    struct RemoteError: Error, CustomStringConvertible {
        var description: String
    }

    private struct ErrorBody: Decodable {
        struct Item: Decodable { var code: String; var message: String? }
        var errors: [Item]
    }

    @discardableResult
    private func call(_ method: HTTPMethod, _ path: String, body: (any Encodable)? = nil) async throws -> Data {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Authorization", value: authorization)
        request.headers.add(name: "Content-Type", value: "application/json")
        if let body {
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            request.body = .bytes(ByteBuffer(bytes: try encoder.encode(body)))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        } catch {
            throw RemoteError(description: "cannot reach \(base): \(error)")
        }
        let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            let message = (try? JSONDecoder().decode(ErrorBody.self, from: data))?.errors.first.map { $0.message ?? $0.code }
            throw RemoteError(description: message ?? "the registry answered \(response.status.code)")
        }
        return data
    }

    private func decode<T: Decodable>(_ type: T.Type, _ data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(T.self, from: data)
    }

    private static func escape(_ component: String) -> String {
        component.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? component
    }

    func users() async throws -> [UserRecord] { try decode([UserView].self, try await call(.GET, "/users")).map(\.record) }

    func user(_ name: String) async throws -> UserRecord? {
        do {
            return try decode(UserView.self, try await call(.GET, "/users/\(Self.escape(name))")).record
        } catch let error as RemoteError where error.description.hasPrefix("no user") {
            return nil
        }
    }

    func addUser(_ name: String, passwordHash: String?, labels: [String: [String]], expiresAt: Date?, by actor: AuditActor) async throws {
        struct Body: Encodable { var name: String; var passwordHash: String?; var labels: [String: [String]]; var expires: Date? }
        try await call(.POST, "/users", body: Body(name: name, passwordHash: passwordHash, labels: labels, expires: expiresAt))
    }

    func setPassword(_ name: String, passwordHash: String, by actor: AuditActor) async throws {
        try await call(.PATCH, "/users/\(Self.escape(name))", body: ["passwordHash": passwordHash])
    }

    func setLabels(_ name: String, _ labels: [String: [String]], by actor: AuditActor) async throws {
        try await call(.PATCH, "/users/\(Self.escape(name))", body: ["labels": labels])
    }

    func setDisabled(_ name: String, _ disabled: Bool, by actor: AuditActor) async throws {
        try await call(.PATCH, "/users/\(Self.escape(name))", body: ["disabled": disabled])
    }

    func setExpiry(_ name: String, _ expiresAt: Date?, by actor: AuditActor) async throws {
        struct Body: Encodable {
            var expires: Date?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(expires, forKey: .expires)  // null removes the expiry
            }
            enum CodingKeys: String, CodingKey { case expires }
        }
        try await call(.PATCH, "/users/\(Self.escape(name))", body: Body(expires: expiresAt))
    }

    func updateUser(_ name: String, passwordHash: String?, labels: [String: [String]]?, disabled: Bool?, expiry: Date??,
                    by actor: AuditActor) async throws {
        struct Body: Encodable {
            var passwordHash: String?
            var labels: [String: [String]]?
            var disabled: Bool?
            var expiry: Date??
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encodeIfPresent(passwordHash, forKey: .passwordHash)
                try c.encodeIfPresent(labels, forKey: .labels)
                try c.encodeIfPresent(disabled, forKey: .disabled)
                if let expiry { try c.encode(expiry, forKey: .expires) }  // null removes the expiry
            }
            enum CodingKeys: String, CodingKey { case passwordHash, labels, disabled, expires }
        }
        try await call(.PATCH, "/users/\(Self.escape(name))", body: Body(passwordHash: passwordHash, labels: labels, disabled: disabled, expiry: expiry))
    }

    func removeUser(_ name: String, by actor: AuditActor) async throws {
        try await call(.DELETE, "/users/\(Self.escape(name))")
    }

    func rules() async throws -> [RuleRecord] { try decode([RuleView].self, try await call(.GET, "/rules")).map(\.record) }

    func addRule(_ rule: ACLRule, at position: Int?, expiresAt: Date?, by actor: AuditActor) async throws -> RuleRecord {
        struct Body: Encodable { var match: ACLRule.Match; var actions: [String]; var comment: String?; var position: Int?; var expires: Date? }
        let data = try await call(.POST, "/rules", body: Body(match: rule.match, actions: rule.actions ?? [], comment: rule.comment,
                                                                position: position, expires: expiresAt))
        return try decode(RuleView.self, data).record
    }

    func replaceRule(at position: Int, with rule: ACLRule, expiresAt: Date?, by actor: AuditActor) async throws {
        struct Body: Encodable { var match: ACLRule.Match; var actions: [String]; var comment: String?; var expires: Date? }
        try await call(.PUT, "/rules/\(position)", body: Body(match: rule.match, actions: rule.actions ?? [], comment: rule.comment, expires: expiresAt))
    }

    func removeRule(at position: Int, by actor: AuditActor) async throws {
        try await call(.DELETE, "/rules/\(position)")
    }

    func moveRule(from: Int, to: Int, by actor: AuditActor) async throws {
        try await call(.POST, "/rules/\(from)/move", body: ["to": to])
    }

    func robots() async throws -> [RobotRecord] { try decode([RobotView].self, try await call(.GET, "/robots")).map(\.record) }

    func addRobot(_ name: String, repositories: [String], actions: [String], description: String?, expiresAt: Date?,
                  by actor: AuditActor) async throws -> (RobotRecord, secret: String) {
        struct Body: Encodable { var name: String; var repositories: [String]; var actions: [String]; var description: String?; var expires: Date? }
        let created = try decode(RobotCreated.self, try await call(.POST, "/robots", body: Body(
            name: name, repositories: repositories, actions: actions, description: description, expires: expiresAt)))
        return (created.robot.record, created.secret)
    }

    func unlock(_ account: String, by actor: AuditActor) async throws {
        try await call(.POST, "/users/\(Self.escape(account))/unlock")
    }

    func rotateRobot(_ name: String, by actor: AuditActor) async throws -> String {
        try decode(RobotCreated.self, try await call(.POST, "/robots/\(Self.escape(name))/rotate")).secret
    }

    func removeRobot(_ name: String, by actor: AuditActor) async throws {
        try await call(.DELETE, "/robots/\(Self.escape(name))")
    }

    func accessTokens(account: String?) async throws -> [AccessTokenView] {
        try decode([AccessTokenView].self, try await call(.GET, account.map { "/users/\(Self.escape($0))/access-tokens" } ?? "/access-tokens"))
    }

    func createAccessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?,
                           labels: [String: [String]]?, by actor: AuditActor) async throws -> AccessTokenCreated {
        struct Body: Encodable { var name: String; var scopes: [String]?; var expires: Date? }
        return try decode(AccessTokenCreated.self, try await call(.POST, "/users/\(Self.escape(account))/access-tokens",
                                                                 body: Body(name: name, scopes: scopes?.map(\.description), expires: expiresAt)))
    }

    func revokeAccessToken(account: String, token: String, by actor: AuditActor) async throws -> AccessTokenView {
        try decode(AccessTokenView.self, try await call(.DELETE, "/users/\(Self.escape(account))/access-tokens/\(Self.escape(token))"))
    }

    func repositoryPolicies() async throws -> [RepositoryPolicyRecord] {
        try decode([RepositoryPolicyRecord].self, try await call(.GET, "/policies"))
    }

    /// The server replaces by the kind's identity itself.
    func addRepositoryPolicy(kind: String, spec: [String: String], comment: String?, identity: [String],
                             by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        struct Body: Encodable { var kind: String; var spec: [String: String]; var comment: String? }
        return try decode(RepositoryPolicyRecord.self, try await call(.POST, "/policies", body: Body(kind: kind, spec: spec, comment: comment)))
    }

    func removeRepositoryPolicy(kind: String, _ which: String, by actor: AuditActor) async throws -> RepositoryPolicyRecord {
        try decode(RepositoryPolicyRecord.self, try await call(.DELETE, "/policies/\(Self.escape(kind))/\(Self.escape(which))"))
    }

    func quotaUsage() async throws -> [QuotaUsage] {
        try decode([QuotaUsage].self, try await call(.GET, "/policies/quotas"))
    }

    func runRetention(dryRun: Bool) async throws -> RetentionPlan {
        struct Body: Encodable { var dryRun: Bool }
        return try decode(RetentionPlan.self, try await call(.POST, "/policies/retention/run", body: Body(dryRun: dryRun)))
    }

    func audit(limit: Int, account: String?, action: String?, before: AuditCursor?) async throws -> [AuditEntry] {
        var query = "?limit=\(limit)"
        if let account { query += "&account=\(Self.escape(account))" }
        if let action { query += "&action=\(Self.escape(action))" }
        if let before { query += "&before=\(Self.escape(before.text))" }
        return try decode([AuditEntry].self, try await call(.GET, "/audit" + query))
    }

    /// The admin API lists tokens per account; all of them means asking for every user's.
    func refreshTokens(account: String?) async throws -> [RefreshTokenView] {
        let accounts = if let account { [account] } else { try await users().map(\.name) }
        var tokens: [RefreshTokenView] = []
        for account in accounts {
            tokens += try decode([RefreshTokenView].self, try await call(.GET, "/users/\(Self.escape(account))/tokens"))
        }
        return tokens
    }

    func revokeRefreshTokens(account: String, idPrefix: String?, by actor: AuditActor) async throws -> Int {
        struct Result: Decodable { var revoked: Int }
        let path = "/users/\(Self.escape(account))/tokens" + (idPrefix.map { "/\(Self.escape($0))" } ?? "")
        return try decode(Result.self, try await call(.DELETE, path)).revoked
    }

    /// The server's own evaluation (`POST /access-test`).
    func accessTest(account: String, repository: String, actions: [String], type: String, service: String,
                    labels: [String: [String]]?) async throws -> (decision: AccessDecision?, accountStatus: String?) {
        struct Body: Encodable { var account: String; var repository: String; var actions: [String]; var type: String; var service: String; var labels: [String: [String]]? }
        struct Result: Decodable { var decision: AccessDecision?; var accountStatus: String? }
        let result = try decode(Result.self, try await call(.POST, "/access-test", body: Body(
            account: account, repository: repository, actions: actions, type: type, service: service, labels: labels)))
        return (result.decision, result.accountStatus)
    }

    func close() async {}
}
