import Foundation

/// docker_auth's `ext_auth`: the program reads `USER PASSWORD` on standard input and exits
/// 0 (accepted; standard output may hold `{"labels": {...}}`), 1 (wrong password), 2 (no
/// such user: the next backend is asked); anything else, a crash or a timeout is an error
/// (503), never a login.
public struct ExternalAuthentication: IdentityBackend {
    let program: ExternalProgram

    public init(_ program: ExternalProgram) { self.program = program }

    struct Labels: Decodable {
        var labels: [String: [String]]?
    }

    public func authenticate(user: String, password: String) async throws -> Identity? {
        guard !user.isEmpty else { return nil }
        let outcome: ExternalProgram.Outcome
        do {
            outcome = try await program.run(input: Array("\(user) \(password)".utf8))
        } catch {
            throw AuthError.unavailable("ext_auth: \(error)")
        }
        switch outcome.status {
        case 0:
            let trimmed = String(decoding: outcome.output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !trimmed.isEmpty else { return Identity(account: user, labels: [:]) }
            guard let decoded = try? JSONDecoder().decode(Labels.self, from: Data(trimmed.utf8)) else {
                throw AuthError.unavailable("ext_auth: the program's output is not {\"labels\": {...}}")
            }
            return Identity(account: user, labels: decoded.labels ?? [:])
        case 1: throw AuthError.unauthorized("refused by ext_auth")
        case 2: return nil
        default: throw AuthError.unavailable("ext_auth: the program exited with status \(outcome.status)")
        }
    }

    /// The program cannot be asked about an account without its password: refresh tokens and
    /// web sessions of its accounts keep the identity they were issued with, until they
    /// expire or are revoked.
    public func lookup(user: String) async throws -> Identity? { nil }
    public var answersLookups: Bool { false }
}
