import Accounts
import ArgumentParser
import Auth
import Foundation

struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import users and ACL rules from a docker_auth auth_config.yml or from mongoexport files of its MongoDB.",
        discussion: """
        Users are added (existing ones are kept unless --replace); rules are appended after the \
        existing ones, in the file's order (MongoDB rules in `seq` order). Run `berth acl ls` \
        afterwards: the first matching rule wins.
        """)

    @OptionGroup var options: AccountsOptions
    @Argument(help: "A docker_auth auth_config.yml (its `users` and `acl`).") var authConfig: String?
    @Option(help: "mongoexport output of docker_auth's users collection (mongo_auth).") var mongoUsers: String?
    @Option(help: "mongoexport output of docker_auth's ACL collection (acl_mongo).") var mongoAcl: String?
    @Flag(help: "Replace the password and labels of users that exist already.") var replace = false

    func validate() throws {
        guard authConfig != nil || mongoUsers != nil || mongoAcl != nil else {
            throw ValidationError("give an auth_config.yml, --mongo-users or --mongo-acl")
        }
    }

    func run() async throws {
        var users: [(name: String, hash: String?, labels: [String: [String]])] = []
        var rules: [ACLRule] = []
        if let authConfig {
            guard let data = FileManager.default.contents(atPath: authConfig) else { throw CLIFailure("cannot read \(authConfig)") }
            let config = try AuthConfiguration.accounts(yaml: String(decoding: data, as: UTF8.self))
            for (name, user) in config.users.sorted(by: { $0.key < $1.key }) where !name.isEmpty {
                users.append((name, user.password, user.labels ?? [:]))
            }
            if config.users[""] != nil {
                print("note: the anonymous user \"\" is not imported; anonymous access comes from rules with --account ''")
            }
            rules += config.acl
        }
        if let mongoUsers { users += try MongoExport.users(try MongoExport.documents(mongoUsers)) }
        if let mongoAcl { rules += try MongoExport.rules(try MongoExport.documents(mongoAcl)) }
        // Everything is checked before anything is written.
        for rule in rules {
            do { try ACL.validate(rule) } catch { throw CLIFailure("rule \(rule.match.summary): \(error)") }
        }
        let actor = AccountsOptions.actor
        let (added, replaced, skipped) = try await options.withManager { store in
            var added = 0, replaced = 0, skipped: [String] = []
            for user in users {
                if try await store.user(user.name) != nil {
                    guard replace else { skipped.append(user.name); continue }
                    if let hash = user.hash { try await store.setPassword(user.name, passwordHash: hash, by: actor) }
                    try await store.setLabels(user.name, user.labels, by: actor)
                    replaced += 1
                } else {
                    try await store.addUser(user.name, passwordHash: user.hash, labels: user.labels, expiresAt: nil, by: actor)
                    added += 1
                }
                if user.hash == nil { print("note: \(user.name) has no password (docker_auth accepted any); set one with berth user passwd") }
            }
            for rule in rules { _ = try await store.addRule(rule, at: nil, expiresAt: nil, by: actor) }
            return (added, replaced, skipped)
        }
        if !skipped.isEmpty { print("kept existing users (use --replace to overwrite): \(skipped.joined(separator: ", "))") }
        print("imported \(added) users\(replace ? ", replaced \(replaced)" : "") and \(rules.count) rules")
    }
}

/// Reads `mongoexport` output: one document a line (its default) or a JSON array
/// (`--jsonArray`), in relaxed or canonical extended JSON.
enum MongoExport {
    static func documents(_ path: String) throws -> [[String: Any]] {
        guard let data = FileManager.default.contents(atPath: path) else { throw CLIFailure("cannot read \(path)") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let parsed: [Any]
        do {
            if text.hasPrefix("[") {
                parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any] ?? []
            } else {
                parsed = try text.split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).isEmpty }.map {
                    try JSONSerialization.jsonObject(with: Data($0.utf8))
                }
            }
        } catch {
            throw CLIFailure("\(path): not mongoexport JSON (\(error.localizedDescription))")
        }
        return try parsed.map { document in
            guard let object = unwrap(document) as? [String: Any] else { throw CLIFailure("\(path): a document is not an object") }
            return object
        }
    }

    /// Extended JSON values (`{"$numberInt": "10"}`, `{"$oid": …}`) as plain values.
    static func unwrap(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            if object.count == 1, let (key, inner) = object.first {
                switch key {
                case "$numberInt", "$numberLong": return Int("\(inner)") ?? inner
                case "$numberDouble": return Double("\(inner)") ?? inner
                case "$oid", "$date", "$numberDecimal": return "\(inner)"
                default: break
                }
            }
            return object.mapValues(unwrap)
        }
        if let array = value as? [Any] { return array.map(unwrap) }
        return value
    }

    static func users(_ documents: [[String: Any]]) throws -> [(name: String, hash: String?, labels: [String: [String]])] {
        try documents.map { document in
            guard let name = document["username"] as? String else { throw CLIFailure("a user document has no username") }
            var labels: [String: [String]] = [:]
            for (key, values) in document["labels"] as? [String: Any] ?? [:] {
                labels[key] = (values as? [Any])?.map { "\($0)" } ?? ["\(values)"]
            }
            return (name, document["password"] as? String, labels)
        }
    }

    static func rules(_ documents: [[String: Any]]) throws -> [ACLRule] {
        let ordered = documents.enumerated().sorted { a, b in
            let (x, y) = (a.element["seq"] as? Int, b.element["seq"] as? Int)
            return (x ?? Int.max, a.offset) < (y ?? Int.max, b.offset)
        }
        return try ordered.map { _, document in
            var entry = document
            entry.removeValue(forKey: "_id")
            entry.removeValue(forKey: "seq")
            let data = try JSONSerialization.data(withJSONObject: entry)
            do {
                return try JSONDecoder().decode(ACLRule.self, from: data)
            } catch {
                throw CLIFailure("an ACL document is not a docker_auth ACL entry: \(String(decoding: data, as: UTF8.self).prefix(200))")
            }
        }
    }
}
