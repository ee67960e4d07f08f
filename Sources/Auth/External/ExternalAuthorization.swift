import Foundation

/// docker_auth's `ext_authz`: the request as JSON (Go's field names) on standard input;
/// exit 0 grants every requested action, 1 none; anything else, a crash or a timeout is
/// an error (503), never a grant. It always decides (no "no match").
public struct ExternalAuthorization: AccessPolicy {
    let program: ExternalProgram

    public init(_ program: ExternalProgram) { self.program = program }

    public var decidesOutOfProcess: Bool { true }

    struct Request: Encodable {
        var Account: String
        var `Type`: String
        var Name: String
        var Service: String
        var IP: String?
        var Actions: [String]
        var Labels: [String: [String]]
    }

    public func decide(_ request: AccessRequest) async throws -> AccessDecision? {
        // Sorted keys and plain slashes: the same request is always the same bytes for the program.
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let input = try encoder.encode(Request(
            Account: request.account, Type: request.type, Name: request.name, Service: request.service,
            IP: request.ip.map { "\($0)" }, Actions: request.actions, Labels: request.labels))
        let outcome: ExternalProgram.Outcome
        do {
            outcome = try await program.run(input: Array(input))
        } catch {
            throw AuthError.unavailable("ext_authz: \(error)")
        }
        switch outcome.status {
        case 0: return AccessDecision(actions: request.actions.sorted(), policy: "ext_authz")
        case 1: return AccessDecision(actions: [], policy: "ext_authz")
        default: throw AuthError.unavailable("ext_authz: the program exited with status \(outcome.status)")
        }
    }
}
