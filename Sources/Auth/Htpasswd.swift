import Foundation

/// An htpasswd file as Distribution's `auth.htpasswd` reads it: `user:hash` lines, bcrypt
/// hashes only (`htpasswd -B`), `#` comments and blank lines ignored.
public enum Htpasswd {
    public static func parse(_ text: String) throws(AuthError) -> [String: AuthConfiguration.User] {
        var users: [String: AuthConfiguration.User] = [:]
        for (number, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let colon = line.firstIndex(of: ":") else {
                throw AuthError.configuration("htpasswd line \(number + 1): expected user:hash")
            }
            let user = String(line[..<colon]), hash = String(line[line.index(after: colon)...])
            guard !user.isEmpty, ["$2y$", "$2a$", "$2b$"].contains(where: hash.hasPrefix) else {
                throw AuthError.configuration("htpasswd line \(number + 1): only bcrypt entries (htpasswd -B) are supported")
            }
            users[user] = AuthConfiguration.User(password: hash)
        }
        return users
    }
}
