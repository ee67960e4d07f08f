import Foundation

/// Finds the credentials `docker login`, `podman login` or `skopeo login` saved for a
/// registry host: `auths` entries (base64 `user:password` or an `identitytoken`) and
/// credential helpers (`credHelpers`, `credsStore`), in the files those tools use.
public struct CredentialStore: Sendable {
    public var files: [String]

    public init(files: [String]) {
        self.files = files
    }

    /// The files docker and podman read, most specific first.
    public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> CredentialStore {
        var files: [String] = []
        let home = environment["HOME"] ?? NSHomeDirectory()
        if let file = environment["REGISTRY_AUTH_FILE"] { files.append(file) }
        if let runtime = environment["XDG_RUNTIME_DIR"] { files.append("\(runtime)/containers/auth.json") }
        files.append("\(environment["XDG_CONFIG_HOME"] ?? "\(home)/.config")/containers/auth.json")
        files.append("\(environment["DOCKER_CONFIG"] ?? "\(home)/.docker")/config.json")
        return CredentialStore(files: files)
    }

    private struct ConfigFile: Decodable {
        struct Entry: Decodable {
            var auth: String?
            var username: String?
            var password: String?
            var identitytoken: String?
        }
        var auths: [String: Entry]?
        var credHelpers: [String: String]?
        var credsStore: String?
    }

    public func credentials(for host: String) throws -> RegistryCredentials? {
        for path in files {
            guard let data = FileManager.default.contents(atPath: path), data.count <= 4 << 20 else { continue }
            let config: ConfigFile
            do {
                config = try JSONDecoder().decode(ConfigFile.self, from: data)
            } catch {
                throw ClientError.usage("\(path): not a valid credentials file (\(error))")
            }
            if let helper = config.credHelpers?[host] {
                return try Self.fromHelper(helper, host: host)
            }
            if let entry = Self.entry(in: config.auths ?? [:], for: host) {
                if let token = entry.identitytoken, !token.isEmpty { return .identityToken(token) }
                if let auth = entry.auth, let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                   let colon = decoded.firstIndex(of: ":") {
                    return .basic(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
                }
                if let username = entry.username, let password = entry.password {
                    return .basic(username: username, password: password)
                }
            }
            if let store = config.credsStore, let found = try? Self.fromHelper(store, host: host) {
                return found
            }
        }
        return nil
    }

    /// Keys may be a bare host or a URL (`https://host/v1/`), as older docker versions wrote.
    private static func entry(in auths: [String: ConfigFile.Entry], for host: String) -> ConfigFile.Entry? {
        if let exact = auths[host] { return exact }
        for (key, value) in auths {
            var k = Substring(key)
            if k.hasPrefix("https://") { k = k.dropFirst(8) } else if k.hasPrefix("http://") { k = k.dropFirst(7) }
            if k.split(separator: "/").first.map(String.init) == host { return value }
        }
        return nil
    }

    /// Runs `docker-credential-HELPER get` with the host on stdin.
    static func fromHelper(_ helper: String, host: String) throws -> RegistryCredentials? {
        guard helper.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ClientError.usage("invalid credential helper name \(helper)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["docker-credential-\(helper)", "get"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data(host.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        struct HelperAnswer: Decodable { var Username: String; var Secret: String }
        guard let answer = try? JSONDecoder().decode(HelperAnswer.self, from: data) else { return nil }
        return answer.Username == "<token>" ? .identityToken(answer.Secret) : .basic(username: answer.Username, password: answer.Secret)
    }
}
