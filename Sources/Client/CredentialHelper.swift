import Foundation

/// A docker credential helper (`docker-credential-ecr-login`, `-gcr`, `-pass`, …) run for a
/// registry's credentials: `COMMAND get` with the server URL on stdin, answering
/// `{"Username", "Secret"}` (`<token>` as the user means an identity token). As
/// Distribution's `proxy.exec`: run once, or again once `lifetime` has passed (0: every time).
public actor CredentialHelper {
    let command: String
    let serverURL: String
    let lifetime: Double?
    private var cached: (credentials: RegistryCredentials, at: Date)?

    public init(command: String, serverURL: String, lifetime: Double?) throws {
        guard !command.isEmpty, command.allSatisfy({ $0.isLetter || $0.isNumber || "-_./".contains($0) }) else {
            throw ClientError.usage("invalid credential helper command \(command)")
        }
        self.command = command
        self.serverURL = serverURL
        self.lifetime = lifetime
    }

    public func credentials() async throws -> RegistryCredentials {
        if let cached, lifetime == nil || Date().timeIntervalSince(cached.at) < lifetime! { return cached.credentials }
        let fresh = try await Self.run(command, serverURL: serverURL)
        cached = (fresh, Date())
        return fresh
    }

    static func run(_ command: String, serverURL: String) async throws -> RegistryCredentials {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(command, serverURL: serverURL) })
            }
        }
    }

    private static func runBlocking(_ command: String, serverURL: String) throws -> RegistryCredentials {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command.contains("/") ? command : "/usr/bin/env")
        process.arguments = command.contains("/") ? ["get"] : [command, "get"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw ClientError.usage("credential helper \(command) cannot be run: \(error.localizedDescription)")
        }
        input.fileHandleForWriting.write(Data(serverURL.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ClientError.unauthorized("credential helper \(command) failed for \(serverURL) (exit status \(process.terminationStatus))")
        }
        struct Answer: Decodable { var Username: String; var Secret: String }
        guard let answer = try? JSONDecoder().decode(Answer.self, from: data) else {
            throw ClientError.unauthorized("credential helper \(command) gave no credentials for \(serverURL)")
        }
        return answer.Username == "<token>" ? .identityToken(answer.Secret) : .basic(username: answer.Username, password: answer.Secret)
    }
}
