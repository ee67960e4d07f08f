import Auth
import Foundation

/// The shape of names, labels and rules the store accepts; checked before anything is
/// written, with the reason in the error.
enum Validation {
    static func userName(_ name: String) throws(AccountError) {
        guard !name.isEmpty, name.utf8.count <= 128 else { throw .invalid("user names have 1 to 128 characters") }
        guard name.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != ":" && $0 != "$" }) else {
            throw .invalid("user names cannot contain spaces, control characters, ':' or '$'")
        }
        // Names are matched by ACL patterns: a glob character would make one a pattern, and
        // invisible or format characters would let two names look alike.
        guard !name.unicodeScalars.contains(where: { "*?[]".unicodeScalars.contains($0) || AccountName.isInvisible($0) }) else {
            throw .invalid("user names cannot contain '*', '?', '[', ']', or invisible, format or control characters")
        }
        // Swift's == is canonical equivalence: compare the scalars themselves.
        guard name.unicodeScalars.elementsEqual(AccountName.canonical(name).unicodeScalars) else {
            throw .invalid("user names must be in Unicode normal form C")
        }
    }

    static func robotName(_ name: String) throws(AccountError) {
        guard !name.isEmpty, name.utf8.count <= 64,
              name.utf8.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 || $0 == 46 || $0 == 95 }) else {
            throw .invalid("robot names have 1 to 64 characters among a-z, 0-9, '.', '-' and '_'")
        }
    }

    static func labels(_ labels: [String: [String]]) throws(AccountError) {
        guard labels.count <= 64 else { throw .invalid("at most 64 labels") }
        for (key, values) in labels {
            guard !key.isEmpty, key.utf8.count <= 64,
                  key.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "_.-".unicodeScalars.contains($0) }) else {
                throw .invalid("label names have 1 to 64 characters among letters, digits, '_', '.' and '-'")
            }
            guard values.count <= 256 else { throw .invalid("label \(key): at most 256 values") }
            for value in values where value.utf8.count > 256 || value.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                throw .invalid("label \(key): values have at most 256 characters and no control characters")
            }
        }
    }

    static func passwordHash(_ hash: String?) throws(AccountError) {
        if let hash, !PasswordHash.isBcrypt(hash) { throw .invalid("the password hash must be bcrypt ($2y$, $2b$ or $2a$)") }
    }

    static func password(_ password: String) throws(AccountError) {
        guard password.utf8.count >= 8 else { throw .invalid("passwords have at least 8 characters") }
        // bcrypt reads only the first 72 bytes; a longer password would be silently truncated.
        guard password.utf8.count <= 72 else { throw .invalid("passwords have at most 72 bytes (bcrypt's limit)") }
    }

    static func rule(_ rule: ACLRule) throws(AccountError) {
        let m = rule.match
        let fields = [m.account, m.type, m.name, m.service, m.ip].compactMap { $0 } + (m.labels.map { Array($0.keys) + Array($0.values) } ?? [])
        for field in fields where field.utf8.count > 1024 { throw .invalid("match patterns have at most 1024 characters") }
        if let comment = rule.comment, comment.utf8.count > 1024 { throw .invalid("comments have at most 1024 characters") }
        do {
            try ACL.validate(rule)
        } catch {
            throw .invalid("invalid rule: \(error)")
        }
    }

    static let robotActions: Set<String> = ["pull", "push", "delete", "*"]

    static func robot(repositories: [String], actions: [String]) throws(AccountError) {
        guard !repositories.isEmpty, repositories.count <= 64 else { throw .invalid("a robot needs 1 to 64 repository patterns") }
        for pattern in repositories {
            guard !pattern.isEmpty, pattern.utf8.count <= 256 else { throw .invalid("repository patterns have 1 to 256 characters") }
            do { try Pattern.validate(pattern) } catch { throw .invalid("invalid repository pattern \(pattern): \(error)") }
        }
        guard !actions.isEmpty, actions.allSatisfy(robotActions.contains) else {
            throw .invalid("robot actions are pull, push, delete or *")
        }
    }

    static let accessTokensPerAccount = 100

    static func accessToken(account: String, name: String, scopes: [CredentialScope]?, expiresAt: Date?) throws(AccountError) {
        guard !account.isEmpty else { throw .invalid("an access token belongs to an account; anonymous has none") }
        guard !account.hasPrefix(RobotRecord.accountPrefix) else {
            throw .invalid("robots have their own secret (berth robot rotate), not access tokens")
        }
        guard !name.isEmpty, name.utf8.count <= 64,
              name.unicodeScalars.allSatisfy({ CharacterSet.alphanumerics.contains($0) || "_.- ".unicodeScalars.contains($0) }) else {
            throw .invalid("token names have 1 to 64 characters among letters, digits, spaces, '_', '.' and '-'")
        }
        if let scopes {
            guard !scopes.isEmpty, scopes.count <= 64 else { throw .invalid("a token has 1 to 64 scopes, or none for all of the account's rights") }
        }
        if let expiresAt, expiresAt <= Date() { throw .invalid("the expiry date is in the past") }
    }
}
